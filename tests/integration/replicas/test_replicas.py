"""The chart's wiring, proven on one machine: its workloads as local processes, replicas killed mid-stream.

The chart is rendered with values pointing at the test session's PostgreSQL and broker; each workload's
command, arguments, environment and probe paths come from the manifests (pods.py). The hook Jobs run
first (migrate, topics), each Deployment's init container waits for the schema, then three ingest
workers, two aggregators and two API replicas start. A scenario with known results is fed in three
waves; after the second, one worker, the leading aggregator and one API replica are SIGKILLed. The
probes answer as the manifests say, the surviving API keeps serving, the other aggregator takes over, no
event is lost or doubled, and the metrics equal a single-process run's.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.chart.render import render
from tests.conftest import truncate_all
from tests.helpers import parse_metrics, produce
from tests.integration.replicas.pods import Process, containers, local_env, run_to_completion, wait_for
from tests.scenario import snapshot
from trustline.ingest.topics import ensure_topics
from trustline.ingest.worker import run_worker
from trustline.shared.settings import Settings
from trustline.shared.topics import topic_name

pytestmark = pytest.mark.integration
REPLICAS = {"tl-trustline-ingest": 3, "tl-trustline-aggregator": 2, "tl-trustline-api": 2}
TOKEN = "replicas-metrics-token"
SOURCE = "replicas/test"
ASSETS, HEARTBEATS, HALF = 300, 240, 150
# Distinct events: 300 assets + 240 heartbeats + 600 detections + 150 remediations (the 100 re-sent
# detections are copies of stored ones).
DISTINCT = ASSETS + HEARTBEATS + 2 * ASSETS + HALF


def _event(type_: str, at: datetime, id_: str, **data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": id_,
        "source": SOURCE,
        "type": type_,
        "time": at.isoformat(),
        "data": data,
    }


def waves(base: datetime, prefix: str) -> list[list[tuple[str, dict[str, Any]]]]:
    """300 endpoints in 3 business units; 240 with a healthy EDR heartbeat; a critical and a high CVE on
    each; the high one remediated on the first 150; then 100 detections delivered again."""
    ms = timedelta(milliseconds=1)
    assets = [(topic_name(prefix, "assets"), _event("asset.observed", base + i * ms, f"a{i}", asset_id=f"h{i}",
               kind="endpoint", business_unit=f"bu{i % 3}")) for i in range(ASSETS)]  # fmt: skip
    beats = [(topic_name(prefix, "edr"), _event("edr.heartbeat", base + (1000 + i) * ms, f"b{i}", asset_id=f"h{i}"))
             for i in range(HEARTBEATS)]  # fmt: skip
    vulns = topic_name(prefix, "vulnerabilities")
    detected = [(vulns, _event("vulnerability.detected", base + (2000 + i) * ms, f"d{cve}-{i}", asset_id=f"h{i}",
                 vulnerability_id=f"CVE-2026-000{cve}", severity=severity))
                for cve, severity in ((1, "critical"), (2, "high")) for i in range(ASSETS)]  # fmt: skip
    remediated = [(vulns, _event("vulnerability.remediated", base + (5000 + i) * ms, f"r{i}", asset_id=f"h{i}",
                   vulnerability_id="CVE-2026-0002")) for i in range(HALF)]  # fmt: skip
    return [assets + beats, detected, remediated + detected[:100]]


def _open(series: dict[Any, float], severity: str) -> float:
    return sum(v for (name, labels), v in series.items()
               if name == "trustline_vulnerabilities_open" and ("severity", severity) in labels)  # fmt: skip


def _total(series: dict[Any, float], name: str) -> float:
    return sum(v for (n, _), v in series.items() if n == name)


async def _count(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM raw_events WHERE source = $1", SOURCE))
    finally:
        await conn.close()


async def _series_at(dsn: str, at: datetime) -> dict[Any, float]:
    conn = await asyncpg.connect(dsn)
    try:
        return await snapshot(conn, at)
    finally:
        await conn.close()


async def _latest_writer(dsn: str) -> str | None:
    conn = await asyncpg.connect(dsn)
    try:
        value = await conn.fetchval("SELECT writer FROM snapshots ORDER BY at DESC LIMIT 1")
        return str(value) if value is not None else None
    finally:
        await conn.close()


@pytest.fixture
def running() -> Iterator[list[Process]]:
    processes: list[Process] = []
    try:
        yield processes
    finally:
        for process in processes:
            process.stop()


def test_replicas_from_the_manifests_survive_sigkill(
    stack: Settings, tmp_path: Path, running: list[Process]
) -> None:
    tag = uuid.uuid4().hex[:8]
    prefix = f"r{tag}"
    asyncio.run(truncate_all(stack.migration_asyncpg_dsn()))
    objects = render({
        "kafka": {"bootstrap": stack.bootstrap_servers(), "securityProtocol": "PLAINTEXT", "topicPrefix": prefix,
                  "consumerGroup": f"g{tag}", "topics": {"partitions": 6}},
        "postgres": {"existingSecret": "services", "uriKey": "uri", "sslmode": "disable",
                     "owner": {"existingSecret": "owner", "uriKey": "uri"}},
        "metricsToken": {"existingSecret": "metrics"},
        "aggregator": {"intervalSeconds": 1},
        "waitForSchema": {"timeoutSeconds": 60},
    })  # fmt: skip
    secrets = {"services": {"uri": stack.asyncpg_dsn()}, "owner": {"uri": stack.migration_asyncpg_dsn()},
               "metrics": {"token": TOKEN}}  # fmt: skip

    # The hook Jobs, in their weight order, then each Deployment's init container.
    for job in ("tl-trustline-migrate", "tl-trustline-topics"):
        template, _ = containers(objects, "Job", job)
        env, _ = local_env(template, secrets=secrets, root=tmp_path / job)
        done = run_to_completion(template, env)
        assert done.returncode == 0, done.stdout + done.stderr
    for workload, count in REPLICAS.items():
        template, inits = containers(objects, "Deployment", workload)
        for init in inits:
            env, _ = local_env(init, secrets=secrets, root=tmp_path / f"{workload}-init")
            done = run_to_completion(init, env, timeout=120)
            assert done.returncode == 0 and "schema is at head" in done.stdout + done.stderr, done.stderr
        for i in range(count):
            env, ports = local_env(template, secrets=secrets, root=tmp_path / f"{workload}-{i}")
            process = Process(f"{workload}-{i}", template, env, ports, tmp_path / f"{workload}-{i}.log")
            process.start()
            running.append(process)
    ingest = [p for p in running if "ingest" in p.name]
    aggregators = [p for p in running if "aggregator" in p.name]
    apis = [p for p in running if "-api-" in p.name]

    # Every replica answers its probes where the manifest says.
    for process in running:
        wait_for(
            lambda p=process: p.answers("readinessProbe") == 200, seconds=90, what=f"{process.name} ready"
        )
        assert process.answers("livenessProbe") == 200

    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    at = base + timedelta(minutes=20)  # every event is before it
    first, second, third = waves(base, prefix)
    produce(stack.bootstrap_servers(), first)
    produce(stack.bootstrap_servers(), second)

    # Mid-stream: one worker, the leading aggregator and one API replica die without a goodbye.
    wait_for(lambda: any("leads" in a.log.read_text() for a in aggregators), seconds=30, what="a leader")
    leader = next(a for a in aggregators if "leads" in a.log.read_text())
    standby = next(a for a in aggregators if a is not leader)
    # Once the workers have begun storing the first two waves (1,140 records), not after.
    wait_for(
        lambda: asyncio.run(_count(stack.asyncpg_dsn())) > 0, seconds=60, what="storing begun", every=0.02
    )
    for victim in (ingest[0], leader, apis[0]):
        victim.kill()
        assert victim.answers("livenessProbe") is None
    produce(stack.bootstrap_servers(), third)

    survivor = apis[1]
    with httpx.Client(timeout=5) as client:
        for _ in range(10):  # the surviving replica keeps serving through the loss
            assert client.get(survivor.url("readinessProbe")).status_code == 200
            metrics = client.get(survivor.url("readinessProbe").replace("/readyz", "/metrics"),
                                 headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
            assert metrics.status_code == 200
    wait_for(lambda: "leads" in standby.log.read_text(), seconds=30, what="the standby taking the lead")
    wait_for(lambda: f":{standby.proc.pid}:" in (asyncio.run(_latest_writer(stack.asyncpg_dsn())) or ""),
             seconds=30, what="a snapshot by the new leader")  # fmt: skip
    wait_for(
        lambda: asyncio.run(_count(stack.asyncpg_dsn())) >= DISTINCT, seconds=120, what="every event stored"
    )
    for process in (*ingest[1:], standby, survivor):
        assert process.alive() and process.answers("readinessProbe") == 200, process.name

    # Nothing lost, nothing doubled: each distinct event stored once, the re-sent copies dropped.
    assert asyncio.run(_count(stack.asyncpg_dsn())) == DISTINCT
    replicated = asyncio.run(_series_at(stack.asyncpg_dsn(), at))
    # By hand: 300 critical cycles open; 300 high detected, 150 of them remediated; 300 endpoints in EDR
    # scope, 240 with a healthy heartbeat.
    assert _open(replicated, "critical") == 300 and _open(replicated, "high") == 150
    assert _total(replicated, "trustline_edr_assets_expected") == 300
    assert _total(replicated, "trustline_edr_assets_covered") == 240

    # The surviving API serves the new leader's snapshot of the same state.
    def served() -> dict[Any, float]:
        text = httpx.get(survivor.url("readinessProbe").replace("/readyz", "/metrics"),
                         headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).text  # fmt: skip
        return parse_metrics(text)

    wait_for(lambda: _open(served(), "high") == 150, seconds=30, what="the API serving the final state")
    assert _open(served(), "critical") == 300

    for process in running:
        process.stop()

    # The single-process run: the same records (copies included) through one in-process worker.
    single = asyncio.run(_single_process(stack, [*first, *second, *third], at))
    assert single == replicated


async def _single_process(
    stack: Settings, records: list[tuple[str, dict[str, Any]]], at: datetime
) -> dict[Any, float]:
    await truncate_all(stack.migration_asyncpg_dsn())
    tag = uuid.uuid4().hex[:8]
    mine = stack.model_copy(update={"topic_prefix": f"s{tag}", "consumer_group": f"s{tag}"})
    await ensure_topics(mine)
    old_prefix = records[0][0].split(".")[0]
    moved = [(f"{mine.topic_prefix}.{topic.split('.', 1)[1]}", value) for topic, value in records]
    assert all(t.startswith(old_prefix) for t, _ in records)
    await asyncio.to_thread(produce, stack.bootstrap_servers(), moved)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(mine, stop))
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        while await _count(stack.asyncpg_dsn()) < DISTINCT:
            assert loop.time() < deadline, "the single worker did not store every event"
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(worker, 30)
    assert await _count(stack.asyncpg_dsn()) == DISTINCT
    return await _series_at(stack.asyncpg_dsn(), at)
