"""Database URLs in libpq form, completed from TLS settings and file-held credentials; any setting from a
`TRUSTLINE_<NAME>_FILE` file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from trustline.shared.settings import Settings

URL = "postgresql://app:pw@db.internal:5432/trustline"


def test_a_libpq_url_keeps_its_tls_parameters() -> None:
    url = URL + "?sslmode=verify-full&sslrootcert=/etc/ca/ca.crt"
    settings = Settings(database_url=url)
    assert settings.asyncpg_dsn() == url
    assert settings.sqlalchemy_url() == url.replace("postgresql://", "postgresql+asyncpg://")


def test_tls_settings_fill_in_what_the_url_leaves_out() -> None:
    settings = Settings(
        database_url=URL + "?sslmode=require",
        migration_database_url="postgres://owner:o@db.internal/trustline",
        database_sslmode="verify-full",
        database_sslrootcert=Path("/ca/ca.crt"),
    )
    # The URL's own sslmode wins; the CA, which it does not name, is added.
    assert settings.asyncpg_dsn() == URL + "?sslmode=require&sslrootcert=%2Fca%2Fca.crt"
    assert settings.migration_asyncpg_dsn() == (
        "postgresql://owner:o@db.internal/trustline?sslmode=verify-full&sslrootcert=%2Fca%2Fca.crt"
    )


def test_credentials_replace_the_urls_and_are_quoted() -> None:
    settings = Settings(
        database_url="postgresql://db.internal/trustline",
        database_user="trustline_app",
        database_password=SecretStr("p@ss/word:1"),
    )
    assert settings.asyncpg_dsn() == "postgresql://trustline_app:p%40ss%2Fword%3A1@db.internal/trustline"
    assert settings.service_role() == "trustline_app"
    assert "p%40ss" not in settings.redacted_database_url()


def test_any_setting_can_come_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "uri").write_text(URL + "\n")  # CloudNativePG's `uri` key, mounted
    (tmp_path / "token").write_text("scrape-token")
    monkeypatch.setenv("TRUSTLINE_DATABASE_URL_FILE", str(tmp_path / "uri"))
    monkeypatch.setenv("TRUSTLINE_METRICS_TOKEN_FILE", str(tmp_path / "token"))
    settings = Settings()
    assert settings.asyncpg_dsn() == URL
    assert settings.metrics_token is not None and settings.metrics_token.get_secret_value() == "scrape-token"


def test_a_variable_and_its_file_together_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "uri").write_text(URL)
    monkeypatch.setenv("TRUSTLINE_DATABASE_URL", URL)
    monkeypatch.setenv("TRUSTLINE_DATABASE_URL_FILE", str(tmp_path / "uri"))
    with pytest.raises(
        ValueError, match="TRUSTLINE_DATABASE_URL and TRUSTLINE_DATABASE_URL_FILE are both set"
    ):
        Settings()


def test_an_unreadable_file_is_named_without_its_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUSTLINE_DATABASE_PASSWORD_FILE", str(tmp_path / "absent"))
    with pytest.raises(ValueError, match="TRUSTLINE_DATABASE_PASSWORD_FILE: cannot read"):
        Settings()


def test_prod_warns_when_connections_are_not_verified() -> None:
    prod = {"env": "prod", "kafka_bootstrap": "kafka:9092", "metrics_token": "t"}
    text = " ".join(Settings(database_url=URL, **prod).warnings())
    assert "KAFKA_SECURITY_PROTOCOL=PLAINTEXT" in text and "sslmode=prefer" in text
    safe = Settings(database_url=URL, database_sslmode="verify-full", kafka_security_protocol="SSL", **prod)
    assert safe.warnings() == []
