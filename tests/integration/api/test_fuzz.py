"""Hostile inputs at every operation, over HTTP against a real server: never a 5xx, every 4xx a problem.

Schemathesis (test_schemathesis.py) explores what the OpenAPI document describes; this test throws what it
does not: the input classes that once answered 500 here (offset-less, extreme and odd instants; NUL and
other control characters; invalid UTF-8; deep nesting; oversize strings and numbers), at each query and
path parameter, the headers, every leaf of a valid JSON body and the raw body. Each class first tries its
landmark values at every input, then Hypothesis draws more (derandomized: the same requests every run).

Inputs that still crash code owned elsewhere are listed in KNOWN_CRASHES as strict xfails: each flips to
a failure once fixed, so its entry can go.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from tests.conftest import serve_api, truncate_all
from trustline.ingest.topics import ensure_topics
from trustline.shared.auth import keys as keys
from trustline.shared.auth.keys import SCOPES
from trustline.shared.settings import Settings

from . import fuzzing
from .fuzzing import INSTANTS, Operation, nested

pytestmark = pytest.mark.integration
EXAMPLES = 30  # drawn per operation and class, after the landmarks
CE_HEADERS = ("ce-specversion", "ce-id", "ce-source", "ce-type", "ce-time")
CLASSES: dict[str, tuple[st.SearchStrategy[Any], list[Any]]] = {
    "instants": (INSTANTS, fuzzing.LANDMARK_INSTANTS),
    "control": (fuzzing.CONTROL, ["a\x00b", "\x00", "\x7f", "\ud800", "\x1b[31m", "\u202e", "\x85"]),
    "invalid_utf8": (fuzzing.INVALID_UTF8, fuzzing.BAD_UTF8),
    "nesting": (
        fuzzing.NESTING,
        [nested(1000, "array"), nested(100_000, "array"), nested(100_000, "object")],
    ),
    "oversize": (fuzzing.OVERSIZE, ["x" * 70_000, "x" * 1_100_000, "9" * 5000, 10**400, float("nan")]),
}
OPERATIONS = [
    "GET /metrics", "GET /healthz", "GET /readyz",
    "POST /api/v1/risk-acceptances", "GET /api/v1/risk-acceptances",
    "GET /api/v1/risk-acceptances/{acceptance_id}",
    "POST /api/v1/risk-acceptances/{acceptance_id}/approve",
    "POST /api/v1/risk-acceptances/{acceptance_id}/reject",
    "POST /api/v1/risk-acceptances/{acceptance_id}/revoke",
    "GET /api/v1/kpis", "GET /api/v1/kpis/history", "POST /api/v1/events",
    "GET /api/v1/gaps/edr-uncovered", "GET /api/v1/gaps/edr-unknown",
    "GET /api/v1/gaps/identities-without-mfa", "GET /api/v1/gaps/vulnerabilities-past-sla",
    "GET /api/v1/gaps/cloud-checks-failing", "GET /api/v1/gaps/incidents-open",
    "POST /api/v1/connectors/trivy", "POST /api/v1/connectors/grype", "POST /api/v1/connectors/okta",
    "POST /api/v1/connectors/entra", "POST /api/v1/connectors/pagerduty", "POST /api/v1/connectors/kev",
]  # fmt: skip
# (operation, class): inputs that still answer 500 in code owned elsewhere, each a strict xfail naming the
# input, so that it flips once fixed. Empty since main merged the registry and ingest hardening.
KNOWN_CRASHES: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Server:
    """The API under fuzz, the fuzzer's key (every scope) and a second principal's (to propose)."""

    address: tuple[str, int]
    key: str
    proposer: str
    operations: dict[str, Operation]

    @property
    def url(self) -> str:
        return f"http://{self.address[0]}:{self.address[1]}"

    def acceptance(self, op: Operation) -> dict[str, str]:
        """A fresh acceptance the operation can act on (proposed by someone else; approved to revoke)."""
        if "{acceptance_id}" not in op.template:
            return {}
        body = {**op.body} if op.body and "title" in op.body else {}
        proposal = {
            "title": "fuzz", "justification": "fuzz", "scope": {"vulnerability_id": "CVE-2026-1"},
            "severity": "low", "business_owner": "fuzz",
            "expires_at": (datetime.now(UTC) + timedelta(days=10)).isoformat(), **body,
        }  # fmt: skip
        made = httpx.post(
            f"{self.url}/api/v1/risk-acceptances", json=proposal, headers=_bearer(self.proposer)
        )
        assert made.status_code == 201, made.text
        acceptance_id = made.json()["id"]
        if op.template.endswith("/revoke"):
            approve = f"{self.url}/api/v1/risk-acceptances/{acceptance_id}/approve"
            assert httpx.post(approve, json={}, headers=_bearer(self.key)).status_code == 200
        return {"acceptance_id": acceptance_id}


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
async def server(stack: Settings) -> AsyncIterator[Server]:
    """One API for the module: fresh tables and topics, a 64 KiB body limit, a key with every scope."""
    tag = uuid.uuid4().hex[:8]
    mine = stack.model_copy(
        update={
            "topic_prefix": f"f{tag}",
            "consumer_group": f"g{tag}",
            "api_max_body_bytes": 65536,
            # Configured, so the PagerDuty route checks signatures (unsigned fuzz answers 401, not 503).
            "pagerduty_webhook_secret": SecretStr("fuzz-webhook-secret"),
        }
    )
    await truncate_all(mine.migration_asyncpg_dsn())
    await ensure_topics(mine)
    conn = await asyncpg.connect(mine.asyncpg_dsn())
    try:
        key, proposer = [
            await keys.create_key(
                conn, principal=who, scopes=list(SCOPES), now=datetime.now(UTC), sources=["*"]
            )
            for who in ("fuzzer", "proposer")
        ]
    finally:
        await conn.close()
    async with serve_api(mine) as url, httpx.AsyncClient(base_url=url) as http:
        doc = (await http.get("/openapi.json")).json()
        host, port = url.removeprefix("http://").split(":")
        yield Server((host, int(port)), key, proposer, fuzzing.operations(doc, ce_headers=CE_HEADERS))


def cases() -> list[Any]:
    """Every operation with every class; known crashes as strict xfails."""
    out = []
    for op in OPERATIONS:
        for kind in CLASSES:
            reason = KNOWN_CRASHES.get((op, kind))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            out.append(pytest.param(op, kind, marks=marks, id=f"{op}-{kind}"))
    return out


def attack(server: Server, op: Operation, kind: str) -> None:
    """Landmarks at every input, then Hypothesis; fails with the first bad answers."""
    strategy, landmarks = CLASSES[kind]
    targets = list(op.targets)
    if kind == "instants" and any(t.instant for t in targets):
        targets = [t for t in targets if t.instant]
    host = f"{server.address[0]}:{server.address[1]}".encode()

    def check(target: fuzzing.Target, value: Any) -> str | None:
        ids = server.acceptance(op)
        call = fuzzing.build(op, server.key, target, value, host=host, ids=ids)
        return fuzzing.verdict(call, *fuzzing.exchange(server.address, call))

    problems = [p for t in targets for v in landmarks if (p := check(t, v)) is not None]
    assert not problems, f"{len(problems)} bad answers, the first ones:\n" + "\n\n".join(problems[:3])

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: every step is a real request
        suppress_health_check=list(HealthCheck),
    )
    @given(target=st.sampled_from(targets), value=strategy)
    def drawn(target: fuzzing.Target, value: Any) -> None:
        problem = check(target, value)
        assert problem is None, problem

    drawn()


def test_every_operation_is_fuzzed(server: Server) -> None:
    assert sorted(server.operations) == sorted(OPERATIONS)


@pytest.mark.parametrize(("operation", "kind"), cases())
async def test_hostile_input_never_answers_a_server_error(server: Server, operation: str, kind: str) -> None:
    await asyncio.to_thread(attack, server, server.operations[operation], kind)
