"""Times people type into the KPI and drill-down routes: one rule, and every bad range a 422, never a 500.

The rule: an offset-less time is UTC, a bare date is midnight UTC, instants outside [1970, 2200) are
refused; history ranges are checked (from <= to, a bounded step, at most 1000 points).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from tests.scenario import D, T
from trustline.shared.auth import keys as keys
from trustline.shared.metrics.snapshot import snapshot_once
from trustline.shared.policy import Policy

pytestmark = pytest.mark.integration
GAPS = ["edr-uncovered", "edr-unknown", "identities-without-mfa", "vulnerabilities-past-sla",
        "cloud-checks-failing", "incidents-open"]  # fmt: skip
OUT_OF_RANGE = [
    "0001-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "2200-01-01T00:00:00Z",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:30:00+01:00",  # no UTC equivalent at all
]


@pytest.fixture
async def reader(db: asyncpg.Connection) -> dict[str, str]:
    key = await keys.create_key(db, principal="leader", scopes=["read"], now=datetime.now(UTC))
    return {"Authorization": f"Bearer {key}"}


def refused(answer: httpx.Response, *words: str) -> None:
    """A 422 problem whose text names what was wrong."""
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    text = answer.text
    assert all(w in text for w in words), text


async def test_offset_less_times_and_dates_read_as_utc(
    api: str, db: asyncpg.Connection, reader: dict[str, str]
) -> None:
    await snapshot_once(db, at=T, policy=Policy(), max_business_units=50, writer="test")
    naive, date = T.replace(tzinfo=None).isoformat(), "2026-10-01"
    async with httpx.AsyncClient(base_url=api, headers=reader) as http:
        kpis = await http.get("/api/v1/kpis", params={"at": naive})
        assert kpis.status_code == 200, kpis.text
        assert kpis.json()["as_of"] == "2026-10-01T12:00:00Z" and kpis.json()["source"] == "stored"
        midnight = await http.get("/api/v1/kpis", params={"at": date})
        assert midnight.status_code == 200 and midnight.json()["as_of"] == "2026-10-01T00:00:00Z"
        for path in GAPS:
            page = await http.get(f"/api/v1/gaps/{path}", params={"at": naive})
            assert page.status_code == 200 and page.json()["as_of"] == "2026-10-01T12:00:00Z", page.text
            page = await http.get(f"/api/v1/gaps/{path}", params={"at": date})
            assert page.status_code == 200 and page.json()["as_of"] == "2026-10-01T00:00:00Z", page.text
        params = {"from": "2026-09-30", "to": naive, "step": "12h"}
        history = await http.get("/api/v1/kpis/history", params=params)
        assert history.status_code == 200, history.text
        body = history.json()
        assert (body["start"], body["end"]) == ("2026-09-30T00:00:00Z", "2026-10-01T12:00:00Z")
        assert [p["snapshot_at"] for p in body["points"]] == [None, None, None, "2026-10-01T12:00:00Z"]


@pytest.mark.parametrize("instant", OUT_OF_RANGE)
async def test_instants_outside_1970_2200_are_refused(api: str, reader: dict[str, str], instant: str) -> None:
    async with httpx.AsyncClient(base_url=api, headers=reader) as http:
        refused(await http.get("/api/v1/kpis", params={"at": instant}), "1970", "2200")
        for name in ("from", "to"):
            refused(await http.get("/api/v1/kpis/history", params={name: instant}), "1970", "2200")
        for path in GAPS:
            refused(await http.get(f"/api/v1/gaps/{path}", params={"at": instant}), "1970", "2200")


BAD_RANGES: list[tuple[dict[str, Any], tuple[str, ...]]] = [
    ({"from": "2026-10-02", "to": "2026-10-01"}, ("from", "to")),
    ({"step": "0"}, ("step",)),
    ({"step": "0d"}, ("step",)),
    ({"step": "-1d"}, ("step",)),
    ({"step": "1w"}, ("step",)),
    ({"step": "9" * 30}, ("step",)),
    ({"step": "9" * 5000}, ("step",)),
    ({"step": "1000000d"}, ("step",)),
    ({"step": "1m"}, ("1000 points",)),  # 90 days by the minute
    ({"from": "1970-01-01", "to": "2199-12-31T23:59:59Z", "step": "1d"}, ("1000 points",)),
]


async def test_history_ranges_are_checked(api: str, reader: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=api, headers=reader) as http:
        for params, words in BAD_RANGES:
            refused(await http.get("/api/v1/kpis/history", params=params), *words)


async def test_history_edges_answer(api: str, db: asyncpg.Connection, reader: dict[str, str]) -> None:
    await snapshot_once(db, at=T, policy=Policy(), max_business_units=50, writer="test")
    async with httpx.AsyncClient(base_url=api, headers=reader) as http:
        # The earliest `to` and the latest `from`: defaults never leave the range.
        early = await http.get("/api/v1/kpis/history", params={"to": "1970-01-01T00:00:00Z"})
        assert early.status_code == 200 and early.json()["start"] == "1970-01-01T00:00:00Z", early.text
        late = {"from": "2199-12-31T00:00:00Z", "to": "2199-12-31T23:59:59Z", "step": "366d"}
        answer = await http.get("/api/v1/kpis/history", params=late)
        assert answer.status_code == 200 and len(answer.json()["points"]) == 1, answer.text
        # One point exactly at T: from == to is a range of one instant.
        one = await http.get("/api/v1/kpis/history", params={"from": T.isoformat(), "to": T.isoformat()})
        assert [p["snapshot_at"] for p in one.json()["points"]] == ["2026-10-01T12:00:00Z"]
        # 1000 points is the most a range may hold.
        most = {"from": (T - 999 * D).isoformat(), "to": T.isoformat(), "step": "1d"}
        assert len((await http.get("/api/v1/kpis/history", params=most)).json()["points"]) == 1000
