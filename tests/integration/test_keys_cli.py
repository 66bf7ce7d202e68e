"""`trustline keys`: canonical principals, look-alikes refused, expiry, last use and sources listed."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.helpers import clean_env
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
HEADER = ["prefix", "principal", "scopes", "sources", "state", "created", "expires", "last_used"]


def keys(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(TRUSTLINE_DATABASE_URL=settings.asyncpg_dsn(), COLUMNS="80")
    return subprocess.run([sys.executable, "-m", "trustline.cli", "keys", *args], env=env, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip


async def test_keys_are_created_canonical_with_expiry_and_listed_for_scripts(
    clean: Settings, db: asyncpg.Connection, owner_db: asyncpg.Connection
) -> None:
    made = keys(clean, "create", "--principal", "Alice", "--scope", "read", "--expires", "90d")
    assert made.returncode == 0 and made.stdout.startswith("tl_"), made.stderr
    ingest = keys(clean, "create", "--principal", "scanner", "--scope", "events:write", "--source", "qualys/*",
                  "--expires", "2199-01-31T00:00:00")  # fmt: skip
    assert ingest.returncode == 0, ingest.stderr
    for principal, reason in (("\u0430lice", "mix scripts"), ("al\u200bice", "invisible"),
                              ("\u0430\u0441\u0435", None), ("ace", "looks like")):  # fmt: skip
        got = keys(clean, "create", "--principal", principal, "--scope", "read")
        assert (got.returncode, reason is None or reason in got.stderr) == (1 if reason else 0, True), (
            got.stderr
        )
    for expires, code, reason in (("yesterday", 2, "neither"), ("2020-01-01", 1, "future")):
        got = keys(clean, "create", "--principal", "bob", "--scope", "read", "--expires", expires)
        assert got.returncode == code and reason in got.stderr, got.stderr
    await db.execute("UPDATE api_keys SET last_used_at = '2026-11-02T10:00:00Z' WHERE principal = 'alice'")

    listed = keys(clean, "list")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert rows[0] == HEADER and len(rows) == 4
    by_name = {r[1]: dict(zip(HEADER, r, strict=True)) for r in rows[1:]}
    # The Cyrillic-only principal is shown by its code points: it cannot pass for anyone.
    assert set(by_name) == {"alice", "scanner", "\\u0430\\u0441\\u0435"}
    soon = (datetime.now(UTC) + timedelta(days=90)).date().isoformat()
    assert (
        by_name["alice"]["expires"].startswith(soon)
        and by_name["alice"]["last_used"] == "2026-11-02T10:00:00Z"
    )
    assert (by_name["scanner"]["sources"], by_name["scanner"]["expires"]) == (
        "qualys/*",
        "2199-01-31T00:00:00Z",
    )
    assert by_name["scanner"]["last_used"] == "-" and by_name["scanner"]["state"] == "active"

    await owner_db.execute(
        "UPDATE api_keys SET expires_at = now() - interval '1 hour' WHERE principal = 'scanner'"
    )
    as_json = json.loads(keys(clean, "list", "--json").stdout)
    scanner = next(k for k in as_json if k["principal"] == "scanner")
    assert (scanner["state"], scanner["sources"], scanner["last_used_at"]) == ("expired", ["qualys/*"], None)
    assert {k["principal"] for k in as_json} == {"alice", "scanner", "\u0430\u0441\u0435"}
    unknown = keys(clean, "revoke", "[/]\x1b[2J")  # neither markup nor a terminal escape
    assert unknown.returncode == 1 and "no active key with prefix [/]\\x1b[2J" in unknown.stderr, (
        unknown.stderr
    )
    assert "secret_hash" not in scanner and all(set(k) >= {"expires_at", "created_at"} for k in as_json)
