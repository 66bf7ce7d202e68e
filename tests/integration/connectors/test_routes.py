"""POST /api/v1/connectors/<tool> over a real server, broker and database.

A signed PagerDuty webhook sequence gives the exact MTTA and MTTR; a bad signature is refused and nothing
is published; documents are accepted whole or refused whole, and keys write only their sources.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from tests.conftest import eventually, serve_api
from tests.helpers import read_topic, sample
from tests.integration.test_pipeline import scrape_at
from tests.unit.shared.connectors.samples import kev_catalog, pagerduty_webhook, trivy_image
from trustline.aggregator.loop import snapshot_at
from trustline.ingest.worker import run_worker
from trustline.shared.auth import keys
from trustline.shared.connectors.pagerduty import sign
from trustline.shared.policy import Policy
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
SECRET = "pd-webhook-secret-for-tests"
T = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
H, M = timedelta(hours=1), timedelta(minutes=1)


@pytest.fixture
async def served(settings: Settings) -> AsyncIterator[tuple[Settings, str]]:
    mine = settings.model_copy(update={"pagerduty_webhook_secret": SecretStr(SECRET)})
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(mine, stop))
    try:
        async with serve_api(mine) as url:
            yield mine, url
    finally:
        stop.set()
        await asyncio.wait_for(worker, 30)


async def key(
    db: asyncpg.Connection, *sources: str, scopes: tuple[str, ...] = ("events:write",)
) -> dict[str, str]:
    made = await keys.create_key(
        db, principal="tool-bot", scopes=list(scopes), now=datetime.now(UTC), sources=list(sources)
    )
    return {"Authorization": f"Bearer {made}"}


def records_on(settings: Settings, suffix: str, *, at_most: int) -> int:
    """Records on one topic, read back with librdkafka (waits a few seconds for one more than expected)."""
    return len(
        read_topic(settings.bootstrap_servers(), f"{settings.topic_prefix}.{suffix}", at_most, seconds=5)
    )


def hook(kind: str, at: datetime, event_id: str, incident: str, priority: str | None = "P1") -> bytes:
    return json.dumps(
        pagerduty_webhook(kind, at.isoformat(), event_id=event_id, incident=incident, priority=priority)
    ).encode()


async def deliver(http: httpx.AsyncClient, body: bytes, *, secret: str = SECRET) -> httpx.Response:
    headers = {"content-type": "application/json", "x-pagerduty-signature": sign(secret.encode(), body)}
    return await http.post("/api/v1/connectors/pagerduty", content=body, headers=headers)


async def test_pagerduty_sequence_gives_exact_mtta_and_mttr(
    served: tuple[Settings, str], db: asyncpg.Connection
) -> None:
    settings, url = served
    sequence = [
        # I1 (P1: critical): triggered T-5h, acknowledged 30 min later, resolved 3 h after triggering.
        hook("incident.triggered", T - 5 * H, "e1", "I1"),
        hook("incident.acknowledged", T - 5 * H + 30 * M, "e2", "I1"),
        hook("incident.resolved", T - 2 * H, "e3", "I1"),
        # I2: no priority (urgency high: high), re-rated P1 (critical) 10 min later; acknowledged after
        # 1 h, resolved after 2 h. Delivered out of order: the resolution first.
        hook("incident.resolved", T - 2 * H, "e7", "I2", priority="P1"),
        hook("incident.triggered", T - 4 * H, "e4", "I2", priority=None),
        hook("incident.priority_updated", T - 4 * H + 10 * M, "e5", "I2"),
        hook("incident.acknowledged", T - 3 * H, "e6", "I2"),
    ]
    async with httpx.AsyncClient(base_url=url, headers=await key(db, "pagerduty")) as http:
        for body in sequence:
            answer = await deliver(http, body)
            assert answer.status_code == 202, answer.text
            assert answer.json()["accepted"] == 1
        ignored = await deliver(http, hook("incident.annotated", T - H, "e8", "I1"))
        assert ignored.status_code == 202
        assert ignored.json()["accepted"] == 0
        assert ignored.json()["ignored"] == {"incident.annotated (no contract stage)": 1}

        # A wrong signature (another secret) and a missing one: 401, nothing published.
        forged = await deliver(http, hook("incident.triggered", T - H, "e9", "I3"), secret="guessed")
        unsigned = await http.post(
            "/api/v1/connectors/pagerduty",
            content=hook("incident.triggered", T - H, "e10", "I3"),
            headers={"content-type": "application/json"},
        )
        assert (forged.status_code, unsigned.status_code) == (401, 401)
        assert forged.headers["content-type"] == "application/problem+json"
    assert records_on(settings, "incidents", at_most=8) == 7

    async def stored() -> bool:
        return await db.fetchval("SELECT count(*) FROM raw_events") == 7

    await eventually(stored)
    assert await db.fetchval("SELECT count(*) FROM raw_events WHERE key = 'I3'") == 0
    await snapshot_at(settings, Policy(), T)
    m = await scrape_at(url, T)
    # Both incidents critical. Acknowledge: 1800 s + 3600 s = 5400 s over 2 (MTTA 2700 s). Restore
    # (= resolve, no restored event): 3 h + 2 h = 18000 s over 2 (MTTR 9000 s).
    duration = "trustline_incident_duration_seconds"
    ack = {"severity": "critical", "stage": "acknowledge", "window": "7d"}
    restore = {"severity": "critical", "stage": "restore", "window": "7d"}
    assert (sample(m, f"{duration}_sum", **ack), sample(m, f"{duration}_count", **ack)) == (5400, 2)
    assert (sample(m, f"{duration}_sum", **restore), sample(m, f"{duration}_count", **restore)) == (18000, 2)
    assert sample(m, f"{duration}_count", severity="high", stage="acknowledge", window="7d") is None

    async with httpx.AsyncClient(base_url=url, headers=await key(db, scopes=("read",))) as http:
        kpis = (await http.get("/api/v1/kpis", params={"at": T.isoformat(), "window": "7d"})).json()
    critical = next(i for i in kpis["incidents"] if i["severity"] == "critical")
    assert (critical["mtta_seconds"], critical["mttr_seconds"]) == (2700, 9000)


async def test_pagerduty_needs_a_key_and_a_configured_secret(
    settings: Settings, db: asyncpg.Connection
) -> None:
    body = hook("incident.triggered", T, "e1", "I1")
    async with serve_api(settings) as url, httpx.AsyncClient(base_url=url) as http:
        no_key = await deliver(http, body)
        assert no_key.status_code == 401
        not_configured = await http.post(
            "/api/v1/connectors/pagerduty",
            content=body,
            headers={**await key(db, "pagerduty"), "content-type": "application/json",
                     "x-pagerduty-signature": sign(SECRET.encode(), body)},
        )  # fmt: skip
        assert not_configured.status_code == 401
        assert "TRUSTLINE_PAGERDUTY_WEBHOOK_SECRET" in not_configured.json()["detail"]


async def test_documents_are_accepted_or_refused_whole(
    served: tuple[Settings, str], db: asyncpg.Connection
) -> None:
    settings, url = served
    report = trivy_image(created_at=(T - H).isoformat())
    async with httpx.AsyncClient(base_url=url, headers=await key(db, "trivy/*")) as http:
        json_headers = {"content-type": "application/json"}
        # Default source `trivy` is not among the key's patterns (`trivy/*`): 403, nothing published.
        denied = await http.post("/api/v1/connectors/trivy", json=report)
        assert denied.status_code == 403
        ok = await http.post(
            "/api/v1/connectors/trivy", json=report, params={"source": "trivy/ci", "full_scan": "image:api"}
        )
        assert ok.status_code == 202, ok.text
        # Four instances (see the unit test of the same sample), nothing to close on a first scan.
        assert {k: v for k, v in ok.json().items() if k != "scan_at"} == {
            "accepted": 4,
            "closed": 0,
            "topics": {f"{settings.topic_prefix}.vulnerabilities": 4},
            "ignored": {},
            "full_scan": "image:api",
            "note": "0 closed",
        }
        bad: dict[str, Any] = trivy_image()
        bad["Results"][0]["Vulnerabilities"][0]["Severity"] = "SEVERE"
        refused = await http.post("/api/v1/connectors/trivy", json=bad, params={"source": "trivy/ci"})
        assert refused.status_code == 400
        assert refused.json()["errors"] == [
            {
                "record": "Results[0].Vulnerabilities[0]",
                "reason": "invalid_data",
                "detail": "severity 'SEVERE' is not one the scanner documents",
            }
        ]
        not_json = await http.post(
            "/api/v1/connectors/grype", content=b"<xml/>", params={"source": "trivy/x"}
        )
        assert not_json.status_code == 415
        garbage = await http.post(
            "/api/v1/connectors/grype",
            content=b"\xff\xfe",
            headers=json_headers,
            params={"source": "trivy/x"},
        )
        assert garbage.status_code == 400 and garbage.json()["errors"][0]["reason"] == "invalid_json"
        naive = await http.post(
            "/api/v1/connectors/trivy",
            json=report,
            params={"source": "trivy/ci", "at": "2026-01-01T00:00:00"},
        )
        assert naive.status_code == 422
    assert records_on(settings, "vulnerabilities", at_most=5) == 4


async def test_kev_catalog_over_http(served: tuple[Settings, str], db: asyncpg.Connection) -> None:
    _, url = served
    async with httpx.AsyncClient(base_url=url) as http:
        denied = await http.post(
            "/api/v1/connectors/kev", json=kev_catalog(), headers=await key(db, "trivy/*")
        )
        assert denied.status_code == 403
        writer = await key(db, "cisa/kev")
        at = (T - H).isoformat()
        stored = await http.post(
            "/api/v1/connectors/kev", json=kev_catalog(), headers=writer, params={"at": at}
        )
        assert stored.status_code == 200, stored.text
        assert {k: stored.json()[k] for k in ("added", "updated", "unchanged", "version")} == {
            "added": 2, "updated": 0, "unchanged": 0, "version": "2026.03.01",
        }  # fmt: skip
        again = await http.post(
            "/api/v1/connectors/kev", json=kev_catalog(), headers=writer, params={"at": at}
        )
        assert (again.json()["added"], again.json()["unchanged"]) == (0, 2)
    assert await db.fetchval("SELECT count(*) FROM kev_catalog_versions") == 2
