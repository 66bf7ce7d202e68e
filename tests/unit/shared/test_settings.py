"""Settings in production: what exposes data without authentication is refused unless acknowledged, the
rest is warned about, and no database password is ever printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.helpers import clean_env
from trustline.shared.settings import DEV_OWNER_ROLE, DEV_SERVICE_ROLE, Settings, redact

SECRET = "hunter2-s3cret"
URL = f"postgresql://app:{SECRET}@db.internal/trustline"
# Production as it should be: TLS to both servers (without it, each start warns).
PROD = {"env": "prod", "database_url": URL + "?sslmode=verify-full", "kafka_bootstrap": "kafka:9093",
        "kafka_security_protocol": "SSL", "metrics_token": "tok"}  # fmt: skip


def test_prod_refuses_unauthenticated_reads_and_metrics_unless_acknowledged() -> None:
    with pytest.raises(ValidationError, match="TRUSTLINE_API_READ_AUTH=false"):
        Settings(**{**PROD, "api_read_auth": False})
    with pytest.raises(ValidationError, match="TRUSTLINE_METRICS_TOKEN"):
        Settings(**{**PROD, "metrics_token": None})
    with pytest.raises(ValidationError, match="takes metrics, reads"):
        Settings(**{**PROD, "allow_unauthenticated": "everything"})
    open_ = Settings(**{**PROD, "api_read_auth": False, "metrics_token": None,
                        "allow_unauthenticated": "reads, metrics"})  # fmt: skip
    assert len(open_.warnings()) == 2  # acknowledged, and still said at every start
    assert Settings(**PROD).warnings() == []


def test_prod_warns_on_docs_and_wide_binds() -> None:
    noisy = Settings(**{**PROD, "api_docs": True, "api_host": "0.0.0.0", "metrics_host": "::",
                        "ingest_metrics_port": 9101})  # fmt: skip
    text = " ".join(noisy.warnings())
    assert "/docs" in text and "(0.0.0.0)" in text and "pipeline metrics" in text


def test_dev_and_prod_database_roles() -> None:
    dev = Settings()
    assert dev.service_role() == DEV_SERVICE_ROLE
    assert f"//{DEV_OWNER_ROLE}@" in dev.migration_asyncpg_dsn()
    # An external database without an owner URL: migrations use the services' URL in dev ...
    assert Settings(database_url=URL).migration_asyncpg_dsn() == URL
    # ... never in prod.
    with pytest.raises(ValueError, match="TRUSTLINE_MIGRATION_DATABASE_URL"):
        Settings(**PROD).migration_asyncpg_dsn()
    owner = f"postgresql://owner:{SECRET}@db.internal/trustline"
    assert Settings(**{**PROD, "migration_database_url": owner}).migration_asyncpg_dsn() == owner


def test_passwords_are_redacted() -> None:
    assert redact(f"cannot reach {URL} or host=db password={SECRET} user=x") == (
        "cannot reach postgresql://app:***@db.internal/trustline or host=db password=*** user=x"
    )
    assert SECRET not in Settings(database_url=URL).redacted_database_url()
    with pytest.raises(ValidationError) as caught:
        Settings(env="prod", database_url=URL)  # no broker: refused, and the input is not echoed
    assert SECRET not in str(caught.value)


def test_the_cli_never_prints_a_password_in_a_settings_error() -> None:
    env = clean_env(TRUSTLINE_ENV="prod", TRUSTLINE_DATABASE_URL=URL, COLUMNS="200")
    for args in (["migrate"], ["dev", "status"]):
        done = subprocess.run([sys.executable, "-m", "trustline.cli", *args], env=env, capture_output=True,
                              text=True, timeout=60, check=False)  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert "TRUSTLINE_KAFKA_BOOTSTRAP" in done.stderr and SECRET not in done.stdout + done.stderr


def test_dev_status_shows_database_urls_without_their_password(tmp_path: Path) -> None:
    env = clean_env(
        TRUSTLINE_DATABASE_URL=URL, TRUSTLINE_KAFKA_BOOTSTRAP="127.0.0.1:1", TRUSTLINE_STATE_DIR=str(tmp_path)
    )
    done = subprocess.run([sys.executable, "-m", "trustline.cli", "dev", "status", "--json"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert '"services": "postgresql://app:***@db.internal/trustline"' in done.stdout
