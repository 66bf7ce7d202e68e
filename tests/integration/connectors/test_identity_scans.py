"""Okta full scans through the CLI (`trustline import okta - --full-scan`), the broker and the database: a
factor or a user the next export no longer lists is removed or deactivated at that export's instant."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.conftest import eventually
from tests.helpers import clean_env
from tests.integration.connectors.test_full_scans import caught_up
from tests.unit.shared.connectors.samples import okta_factor, okta_user
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)
T1, T2 = NOW - timedelta(days=8), NOW - timedelta(days=1)


def cli_import(settings: Settings, export: object, *args: str) -> subprocess.CompletedProcess[str]:
    """`trustline import okta -` in a fresh process, the export on standard input."""
    env = clean_env(
        TRUSTLINE_DATABASE_URL=settings.asyncpg_dsn(),
        TRUSTLINE_KAFKA_BOOTSTRAP=settings.bootstrap_servers(),
        TRUSTLINE_TOPIC_PREFIX=settings.topic_prefix,
        COLUMNS="200",
    )
    command = [sys.executable, "-m", "trustline.cli", "import", "okta", "-", *args]
    return subprocess.run(command, input=json.dumps(export), env=env, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


async def raw_count(db: asyncpg.Connection, n: int) -> None:
    async def done() -> bool:
        return await db.fetchval("SELECT count(*) FROM raw_events") == n

    await eventually(done)


async def test_okta_exports_remove_factors_and_deactivate_users_they_no_longer_list(
    settings: Settings, db: asyncpg.Connection, worker: Settings
) -> None:
    scan = ("--full-scan", "tenant:acme", "--source", "okta/acme", "--admin-group", "Okta Admins")
    first = [
        okta_user("ada@acme.example", factors=[okta_factor("fwf1", "webauthn"), okta_factor("mbl2", "sms")],
                  groups=["Okta Admins"]),
        okta_user("bob@acme.example", factors=[okta_factor("u2f5", "u2f")]),
    ]  # fmt: skip
    done = cli_import(settings, first, *scan, "--at", T1.isoformat())
    assert done.returncode == 0, done.stderr
    # 2 observations + 3 factors, nothing to close on the first export.
    assert "accepted        5" in done.stderr and "full scan of tenant:acme" in done.stderr
    await raw_count(db, 5)

    second = [
        okta_user("ada@acme.example", factors=[okta_factor("fwf1", "webauthn")], groups=["Okta Admins"])
    ]
    done = cli_import(settings, second, *scan, "--at", T2.isoformat())
    assert done.returncode == 0, done.stderr
    # ada observed + fwf1 enrolled; closing: ada's sms removed, bob deactivated, bob's u2f removed.
    assert "3 closed" in done.stderr and "accepted        5" in done.stderr
    await raw_count(db, 10)
    closing = await db.fetch(
        "SELECT type, key, data->>'factor_id' AS factor FROM raw_events WHERE time = $1 AND id LIKE 'fullscan:%'"
        " ORDER BY type, key",
        T2,
    )
    assert [tuple(r) for r in closing] == [
        ("identity.deactivated", "bob@acme.example", None),
        ("mfa.removed", "ada@acme.example", "mbl2"),
        ("mfa.removed", "bob@acme.example", "u2f5"),
    ]
    enrolled = await db.fetch(
        "SELECT user_id, factor_key FROM mfa_factor_versions WHERE enrolled AND valid_to IS NULL ORDER BY 1, 2"
    )
    assert [tuple(r) for r in enrolled] == [("ada@acme.example", "fwf1")]
    active = await db.fetch(
        "SELECT user_id, privileged FROM identity_versions WHERE active AND valid_to IS NULL"
    )
    assert [tuple(r) for r in active] == [("ada@acme.example", True)]

    # The same export again, and a partial one without ada's last factor: nothing changes.
    assert cli_import(settings, second, *scan, "--at", T2.isoformat()).returncode == 0
    partial = cli_import(
        settings, [okta_user("ada@acme.example")], "--source", "okta/acme", "--at", NOW.isoformat()
    )
    assert "partial import (no --full-scan): nothing closed" in partial.stderr
    await raw_count(db, 11)  # only the partial export's new observation of ada
    topic = f"{settings.topic_prefix}.identities"
    await eventually(lambda: asyncio.to_thread(caught_up, settings, topic))  # the replay was read too
    assert await db.fetchval("SELECT count(*) FROM raw_events") == 11
    assert (
        await db.fetchval("SELECT count(*) FROM mfa_factor_versions WHERE enrolled AND valid_to IS NULL") == 1
    )
