"""Replaying a topic from the start changes no count; `trustline import` publishes files, refusing bad records."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from rich.console import Console

from tests.conftest import eventually
from tests.helpers import cloudevent, produce
from tests.unit.shared.test_ocsf import prowler_finding
from trustline.ingest.domains import DOMAINS
from trustline.ingest.importer import import_file
from trustline.ingest.worker import run_worker
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)
D = timedelta(days=1)


async def counts(db: asyncpg.Connection) -> dict[str, int]:
    tables = ["raw_events", *(t.name for d in DOMAINS.values() for t in d.tables)]
    return {t: await db.fetchval(f"SELECT count(*) FROM {t}") for t in tables}


async def consume_until(settings: Settings, db: asyncpg.Connection, raw: int) -> None:
    """Run a worker of `settings`' group until raw_events holds `raw` rows and its batch is committed."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(settings, stop))

    async def done() -> bool:
        return await db.fetchval("SELECT count(*) FROM raw_events") == raw

    try:
        await eventually(done)
        await asyncio.sleep(1.0)  # let the worker commit and go idle
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_replaying_from_the_start_changes_no_count(settings: Settings, db: asyncpg.Connection) -> None:
    events: list[tuple[str, Any]] = []
    for i in range(200):
        at = NOW - (i % 50) * D
        events.append(
            (
                f"{settings.topic_prefix}.vulnerabilities",
                cloudevent(
                    "vulnerability.detected" if i % 3 else "vulnerability.remediated",
                    at,
                    {"asset_id": f"h{i % 20}", "vulnerability_id": f"CVE-{i % 7}", "severity": "high"},
                    id_=f"v{i}",
                ),
            )
        )
        events.append(
            (
                f"{settings.topic_prefix}.assets",
                cloudevent(
                    "asset.observed",
                    at,
                    {"asset_id": f"h{i % 20}", "business_unit": f"bu{i % 3}"},
                    id_=f"a{i}",
                ),
            )
        )
    produce(settings.bootstrap_servers(), events)
    await consume_until(settings, db, 400)
    before = await counts(db)
    snapshot_state = await db.fetch("SELECT * FROM vuln_cycle_versions ORDER BY 1, 2, 3, 8")
    # A new consumer group reads both topics again from offset 0.
    await consume_until(
        settings.model_copy(update={"consumer_group": settings.consumer_group + "-replay"}), db, 400
    )
    assert await counts(db) == before
    assert await db.fetch("SELECT * FROM vuln_cycle_versions ORDER BY 1, 2, 3, 8") == snapshot_state


async def test_import_publishes_valid_records_and_reports_the_rest(
    settings: Settings, db: asyncpg.Connection, tmp_path: Path
) -> None:
    report = tmp_path / "prowler.ocsf.json"
    findings = [
        prowler_finding(code, when=NOW - (i + 1) * D) for i, code in enumerate(("FAIL", "PASS", "MANUAL"))
    ]
    report.write_text("[" + ",".join(f.model_dump_json(exclude_none=True) for f in findings) + "]")
    lines = tmp_path / "events.jsonl"
    good = cloudevent("asset.observed", NOW - D, {"asset_id": "h1"}, id_="i1")
    bad = cloudevent("asset.observed", NOW - D, {"hostname": "no id"}, id_="i2")
    hostile = [b"[" * 5000 + b"]" * 5000, json.dumps(good).encode().replace(b'"h1"', b'"h\xff1"')]
    lines.write_bytes(
        b"\n".join([json.dumps(good).encode(), b"{broken", json.dumps(bad).encode(), *hostile, b""])
    )

    ocsf = await import_file(settings, report, "ocsf", Console(quiet=True))
    # FAIL and PASS map (two buckets each); MANUAL has no status Trustline can count.
    assert ocsf.accepted == {f"{settings.topic_prefix}.cloudconfig": 2} and ocsf.rejected == {
        "invalid_data": 1
    }
    plain = await import_file(settings, lines, "events", Console(quiet=True))
    assert plain.accepted == {f"{settings.topic_prefix}.assets": 1}
    assert plain.rejected == {"invalid_json": 3, "invalid_data": 1}  # deep nesting and bad UTF-8 included
    assert any("record 3: invalid_data" in e for e in plain.examples)
    not_ocsf = await import_file(settings, lines, "ocsf", Console(quiet=True))
    assert not_ocsf.accepted == {} and sum(not_ocsf.rejected.values()) == 5
    nested = tmp_path / "nested.json"
    nested.write_bytes(b"[" * 5000 + b"]" * 5000)
    with pytest.raises(ValueError, match="nested too deeply"):
        await import_file(settings, nested, "events", Console(quiet=True))

    # 2 findings x 2 buckets + 1 asset reach PostgreSQL through the worker.
    await consume_until(settings, db, 5)
    rows = await db.fetch("SELECT resource_id, status FROM cloud_check_versions ORDER BY 1, valid_from")
    assert {(r["resource_id"], r["status"]) for r in rows} == {
        ("arn:aws:s3:::a", "fail"),
        ("arn:aws:s3:::a", "pass"),
        ("arn:aws:s3:::b", "fail"),
        ("arn:aws:s3:::b", "pass"),
    }
