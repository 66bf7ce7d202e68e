"""PostgreSQL over TLS with verification, for the services' pool, the CLI and Alembic alike.

A PostgreSQL of its own checks passwords; a TLS endpoint in front of it (servers.py) holds a certificate
from a CA made here and refuses clients that start without TLS. The settings take a libpq-form URL
(`sslmode=verify-full&sslrootcert=...`, which SQLAlchemy's asyncpg dialect alone refuses) or the TLS
settings and file-held credentials a Kubernetes secret provides; a wrong CA, an expired certificate and a
wrong password each stop a command with one line.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import clean_env
from tests.integration.tls.servers import (
    PASSWORD,
    Certificates,
    PasswordPostgres,
    TlsProxy,
    certificates,
    pg_url,
)
from trustline.shared import db
from trustline.shared.faults import SetupError
from trustline.shared.migrations import revision, upgrade
from trustline.shared.settings import Settings
from trustline.shared.sql import Query, fetchval

pytestmark = pytest.mark.integration
WHO = Query("SELECT current_user = :role")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return certificates(tmp_path_factory.mktemp("pg-certs"))


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PasswordPostgres]:
    pg = PasswordPostgres(tmp_path_factory.mktemp("pg-tls"))
    pg.up()
    try:
        yield pg
    finally:
        pg.destroy()


@pytest.fixture(scope="module")
def tls(postgres: PasswordPostgres, certs: Certificates) -> Iterator[TlsProxy]:
    with TlsProxy(
        upstream=postgres.port, cert=certs.server_cert, key=certs.server_key, postgres=True
    ) as proxy:
        yield proxy


def _cli(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, list[str], str]:
    done = subprocess.run([sys.executable, "-m", "trustline.cli", *args], env=clean_env(COLUMNS="400", **env),
                          cwd=cwd, capture_output=True, text=True, timeout=180, check=False)  # fmt: skip
    output = done.stdout + done.stderr
    return done.returncode, [line for line in output.splitlines() if line.strip()], output


async def test_migrations_and_the_pool_run_over_verified_tls(
    tls: TlsProxy, certs: Certificates, tmp_path: Path
) -> None:
    query = f"?sslmode=verify-full&sslrootcert={certs.ca}"
    settings = Settings(
        database_url=pg_url(tls.port, "trustline_app", query=query),
        migration_database_url=pg_url(tls.port, "trustline", query=query),
        state_dir=tmp_path,
    )
    before = tls.handshakes
    report = await asyncio.to_thread(upgrade, settings)  # Alembic, then the grants, as the owner
    assert report is not None and report.applied
    assert (await revision(settings)).at_head  # read as the services' role
    pool = await db.create_pool(settings, size=2)
    try:
        async with pool.acquire() as conn:
            assert await fetchval(conn, WHO, role="trustline_app") is True
    finally:
        await pool.close()
    # Alembic's connection, the grants', the check's and the pool's: each through the TLS endpoint.
    assert tls.handshakes - before >= 4


def test_tls_and_credentials_from_settings_and_files(
    tls: TlsProxy, certs: Certificates, tmp_path: Path
) -> None:
    # The URL names no user nor password: they come from files, as mounted Kubernetes secrets.
    (tmp_path / "user").write_text("trustline_app\n")
    (tmp_path / "password").write_text(PASSWORD + "\n")
    (tmp_path / "owner-password").write_text(PASSWORD)
    bare = f"postgresql://127.0.0.1:{tls.port}/trustline"
    env = {
        "TRUSTLINE_DATABASE_URL": bare,
        "TRUSTLINE_DATABASE_USER_FILE": str(tmp_path / "user"),
        "TRUSTLINE_DATABASE_PASSWORD_FILE": str(tmp_path / "password"),
        "TRUSTLINE_MIGRATION_DATABASE_URL": bare,
        "TRUSTLINE_MIGRATION_DATABASE_USER": "trustline",
        "TRUSTLINE_MIGRATION_DATABASE_PASSWORD_FILE": str(tmp_path / "owner-password"),
        "TRUSTLINE_DATABASE_SSLMODE": "verify-full",
        "TRUSTLINE_DATABASE_SSLROOTCERT": str(certs.ca),
        "TRUSTLINE_STATE_DIR": str(tmp_path / "var"),
    }
    code, _, output = _cli("migrate", env=env, cwd=tmp_path)
    assert code == 0, output
    assert "schema is up to date" in output and PASSWORD not in output
    code, lines, output = _cli("migrate", "--check", env=env, cwd=tmp_path)
    assert code == 0 and lines[-1].startswith("schema is at head"), output


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("wrong CA", "the server's TLS certificate was refused: "),
        ("expired certificate", "the server's TLS certificate was refused: certificate has expired"),
        ("wrong password", "the password was refused"),
        ("no TLS offered", "the server does not accept TLS connections"),
    ],
)
def test_a_setting_to_fix_is_one_line(
    postgres: PasswordPostgres, tls: TlsProxy, certs: Certificates, tmp_path: Path, case: str, expected: str
) -> None:
    port, ca, password = tls.port, certs.ca, PASSWORD
    expired = None
    if case == "wrong CA":
        ca = certs.other_ca
    elif case == "wrong password":
        password = "not-the-password"
    elif case == "no TLS offered":
        port = postgres.port  # the server itself, which has no TLS
    elif case == "expired certificate":
        expired = TlsProxy(
            upstream=postgres.port, cert=certs.expired_cert, key=certs.expired_key, postgres=True
        )
        port = expired.port
    url = pg_url(port, "trustline_app", password=password, query=f"?sslmode=verify-full&sslrootcert={ca}")
    env = {"TRUSTLINE_DATABASE_URL": url, "TRUSTLINE_STATE_DIR": str(tmp_path / "var")}
    if expired is not None:
        expired.__enter__()
    try:
        for command in (["migrate", "--check"], ["aggregate"]):
            code, lines, output = _cli(*command, env=env, cwd=tmp_path)
            assert code == 1, output
            assert len(lines) == 1 and "Traceback" not in output, output
            assert lines[0].startswith("error: PostgreSQL at 127.0.0.1:") and expected in lines[0], lines[0]
            assert "not-the-password" not in output
    finally:
        if expired is not None:
            expired.__exit__()


async def test_a_refused_certificate_is_never_retried(
    tls: TlsProxy, certs: Certificates, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=pg_url(
            tls.port, "trustline_app", query=f"?sslmode=verify-full&sslrootcert={certs.other_ca}"
        ),
        state_dir=tmp_path,
    )
    with pytest.raises(SetupError) as caught:
        await db.connect(settings)
    assert "\n" not in str(caught.value)
    assert not db.is_transient(caught.value)  # the components' retry loops give up: only settings cure it
