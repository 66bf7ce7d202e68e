"""The one settings class: every knob is a TRUSTLINE_* environment variable."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

DEV_HOST = "127.0.0.1"
# Development only: prod uses TRUSTLINE_INGEST_ATTRIBUTION_SECRET or no attribution signature at all.
DEV_ATTRIBUTION_KEY = b"trustline-dev-attribution"
DEFAULT_MAX_SOURCES = 100  # `source` label values per snapshot (the aggregator's default too)
# The embedded development server's two roles: the schema owner (migrations) and the services' role.
DEV_OWNER_ROLE = "trustline"
DEV_SERVICE_ROLE = "trustline_app"
WIDE_HOSTS = frozenset({"0.0.0.0", "::", "", "*"})
UNAUTHENTICATED = frozenset({"reads", "metrics"})
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]*@", re.IGNORECASE)
_KV_PASSWORD = re.compile(r"(?P<head>password\s*=\s*)(?:'[^']*'|\S+)", re.IGNORECASE)
log = logging.getLogger(__name__)


def redact(text: str) -> str:
    """`text` with every password in a URL (or a libpq `password=`) replaced by ***."""
    return _KV_PASSWORD.sub(r"\g<head>***", _URL_PASSWORD.sub(r"\g<head>***@", text))


def _asyncpg_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    """Runtime configuration; in `prod` nothing falls back to a development default."""

    # Validation errors never echo the input: it holds database URLs with their passwords.
    model_config = SettingsConfigDict(env_prefix="TRUSTLINE_", extra="ignore", hide_input_in_errors=True)

    env: Literal["dev", "prod"] = "dev"
    # The services' database URL, as a role granted only what they use (see shared/grants.py).
    # Unset in dev means "use the embedded server that `trustline dev up` manages".
    database_url: SecretStr | None = None
    # The schema owner's URL, used by `trustline migrate` only (required in prod). Unset in dev: the
    # embedded server's owner role, or TRUSTLINE_DATABASE_URL when that is set.
    migration_database_url: SecretStr | None = None
    kafka_bootstrap: str | None = None
    state_dir: Path = Path("var")
    # Where `trustline dev up` puts the embedded PostgreSQL and broker (loopback only).
    dev_postgres_port: int = Field(default=5433, ge=1, le=65535)
    dev_kafka_port: int = Field(default=9092, ge=1, le=65535)
    policy_file: Path | None = None

    topic_prefix: str = "trustline"
    topic_partitions: int = Field(default=6, ge=1, le=1024)
    topic_replication_factor: int = Field(default=1, ge=1, le=16)
    consumer_group: str = "trustline-ingest"

    # Shared by the API and the ingest workers: signs which key submitted an HTTP-ingested record.
    # Unset in prod: every raw event is attributed to its Kafka topic only.
    ingest_attribution_secret: SecretStr | None = None
    ingest_batch_max: int = Field(default=5000, ge=1, le=100_000)
    ingest_poll_timeout_ms: int = Field(default=500, ge=10, le=60_000)
    max_event_bytes: int = Field(default=1024 * 1024, ge=1024)

    aggregation_interval_seconds: float = Field(default=5.0, gt=0)
    snapshot_refresh_seconds: float = Field(default=1.0, gt=0)
    max_business_units: int = Field(default=50, ge=2, le=10_000)
    # `source` label values per snapshot: the most recently active keep a series, the rest fold into `other`.
    max_sources: int = Field(default=DEFAULT_MAX_SOURCES, ge=2, le=10_000)
    # Metric history: every snapshot for this many days, then one per hour, then nothing.
    history_full_resolution_days: int = Field(default=14, ge=1)
    history_retention_days: int = Field(default=400, ge=1)
    history_prune_interval_seconds: float = Field(default=600.0, gt=0)

    # Each long-running component can serve its own pipeline metrics (unset: not served).
    metrics_host: str = "127.0.0.1"
    ingest_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    aggregator_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # `trustline run` starts Debian's prometheus (when installed) on this loopback port.
    prometheus_port: int = Field(default=9090, ge=1, le=65535)

    # When set, /metrics needs `Authorization: Bearer <token>` (checked in memory: no query per scrape).
    metrics_token: SecretStr | None = None
    # Reads (KPIs, drill-downs, the registry) need a key with the `read` scope unless set to false,
    # e.g. behind an authenticating proxy.
    api_read_auth: bool = True
    # prod refuses to serve data without authentication unless acknowledged here (comma-separated):
    # `reads` (TRUSTLINE_API_READ_AUTH=false) and/or `metrics` (no TRUSTLINE_METRICS_TOKEN).
    allow_unauthenticated: str = ""
    api_docs: bool | None = None  # the /docs UI: on in dev, off in prod unless set to true
    api_max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    api_max_batch_events: int = Field(default=1000, ge=1, le=100_000)  # items per POST /api/v1/events
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    # The `trustline risk` commands are API clients: where the API is (default: api_host and api_port)
    # and the key they act with, e.g. TRUSTLINE_API_KEY=tl_... (or `--key-file`).
    api_url: str | None = None
    api_key: SecretStr | None = None
    # HTTP hygiene: connections that have not sent a request's headers within this are closed (408),
    # and when set, requests whose Host is not listed (`*.example.com` for subdomains) get 400.
    api_header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    api_allowed_hosts: Annotated[list[str], NoDecode] = []

    # Connectors: the shared secret PagerDuty signs its v3 webhooks with (unset: the PagerDuty route answers
    # 503), and the groups or roles that make an Okta or Entra ID user privileged (comma-separated).
    pagerduty_webhook_secret: SecretStr | None = None
    connector_admin_groups: Annotated[list[str], NoDecode] = []

    @field_validator("api_allowed_hosts", "connector_admin_groups", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return [h.strip() for h in value.split(",") if h.strip()] if isinstance(value, str) else value

    @field_validator("allow_unauthenticated")
    @classmethod
    def _known_exposures(cls, value: str) -> str:
        unknown = set(cls._split(value)) - UNAUTHENTICATED
        if unknown:
            raise ValueError(
                f"TRUSTLINE_ALLOW_UNAUTHENTICATED takes {', '.join(sorted(UNAUTHENTICATED))}, "
                f"not {', '.join(sorted(unknown))}"
            )
        return value

    @model_validator(mode="after")
    def _prod_is_explicit_and_safe(self) -> Settings:
        if self.env != "prod":
            return self
        if self.database_url is None or self.kafka_bootstrap is None:
            raise ValueError(
                "TRUSTLINE_ENV=prod requires TRUSTLINE_DATABASE_URL and TRUSTLINE_KAFKA_BOOTSTRAP"
            )
        if refusals := self.prod_refusals():
            raise ValueError("TRUSTLINE_ENV=prod refuses to start: " + " ".join(refusals))
        return self

    @staticmethod
    def _split(value: str) -> list[str]:
        return [part.strip() for part in value.split(",") if part.strip()]

    @property
    def acknowledged_unauthenticated(self) -> frozenset[str]:
        """What the operator confirmed may be served without authentication (`reads`, `metrics`)."""
        return frozenset(self._split(self.allow_unauthenticated))

    def prod_refusals(self) -> list[str]:
        """Settings that would expose data without authentication and were not acknowledged."""
        out: list[str] = []
        ack = self.acknowledged_unauthenticated
        if not self.api_read_auth and "reads" not in ack:
            out.append(
                "TRUSTLINE_API_READ_AUTH=false serves KPIs, drill-downs (host, user and CVE ids) and the "
                "risk register to anyone who reaches the API; set TRUSTLINE_ALLOW_UNAUTHENTICATED=reads "
                "only when a proxy in front authenticates every request."
            )
        if self.metrics_token is None and "metrics" not in ack:
            out.append(
                "/metrics needs TRUSTLINE_METRICS_TOKEN (the security posture of every business unit); "
                "set TRUSTLINE_ALLOW_UNAUTHENTICATED=metrics only when the network alone guards it."
            )
        return out

    def warnings(self) -> list[str]:
        """Settings that are allowed but worth a line in the log."""
        out: list[str] = []
        if self.env == "prod":
            if self.api_docs:
                out.append("TRUSTLINE_API_DOCS=true in prod: /docs publishes the whole API surface.")
            ack = self.acknowledged_unauthenticated
            if not self.api_read_auth and "reads" in ack:
                out.append("reads are served without authentication (acknowledged: a proxy must check them).")
            if self.metrics_token is None and "metrics" in ack:
                out.append("/metrics is served without a token (acknowledged: the network must guard it).")
        if self.api_host in WIDE_HOSTS:
            out.append(
                f"the API listens on every interface ({self.api_host or '*'}): make sure only the intended "
                "networks reach it."
            )
        if self.metrics_host in WIDE_HOSTS and (self.ingest_metrics_port or self.aggregator_metrics_port):
            out.append(
                f"pipeline metrics listen on every interface ({self.metrics_host or '*'}) without "
                "authentication."
            )
        return out

    @property
    def manages_postgres(self) -> bool:
        """True when the embedded development PostgreSQL is the database."""
        return self.database_url is None

    @property
    def manages_broker(self) -> bool:
        """True when the embedded development broker is the Kafka cluster."""
        return self.kafka_bootstrap is None

    def _dev_url(self, role: str) -> str:
        # The embedded server trusts loopback connections: a development-only set-up.
        return f"postgresql+asyncpg://{role}@{DEV_HOST}:{self.dev_postgres_port}/trustline"

    def sqlalchemy_url(self) -> str:
        """The services' database URL for SQLAlchemy's asyncpg dialect."""
        if self.database_url is None:
            return self._dev_url(DEV_SERVICE_ROLE)
        return _asyncpg_url(self.database_url.get_secret_value())

    def asyncpg_dsn(self) -> str:
        """The services' database URL in the form asyncpg takes."""
        return self.sqlalchemy_url().replace("postgresql+asyncpg://", "postgresql://", 1)

    def attribution_key(self) -> bytes | None:
        """The HMAC key for submitter attribution (a fixed development value in dev when unset)."""
        if self.ingest_attribution_secret is not None:
            return self.ingest_attribution_secret.get_secret_value().encode()
        return DEV_ATTRIBUTION_KEY if self.env == "dev" else None

    def migration_sqlalchemy_url(self) -> str:
        """The schema owner's URL (SQLAlchemy, asyncpg dialect), for migrations and grants."""
        if self.migration_database_url is not None:
            return _asyncpg_url(self.migration_database_url.get_secret_value())
        if self.env == "prod":
            raise ValueError(
                "TRUSTLINE_ENV=prod: migrations need TRUSTLINE_MIGRATION_DATABASE_URL, the schema owner's "
                "URL (the services' TRUSTLINE_DATABASE_URL must not own the schema)"
            )
        if self.database_url is None:
            return self._dev_url(DEV_OWNER_ROLE)
        return self.sqlalchemy_url()

    def migration_asyncpg_dsn(self) -> str:
        """The schema owner's URL in the form asyncpg takes."""
        return self.migration_sqlalchemy_url().replace("postgresql+asyncpg://", "postgresql://", 1)

    def service_role(self) -> str:
        """The role the services connect as (the user of TRUSTLINE_DATABASE_URL)."""
        return _user(self.sqlalchemy_url(), "TRUSTLINE_DATABASE_URL")

    def redacted_database_url(self, *, migration: bool = False) -> str:
        """A database URL fit to print: no password, plain `postgresql://`."""
        url = self.migration_sqlalchemy_url() if migration else self.sqlalchemy_url()
        return redact(url.replace("postgresql+asyncpg://", "postgresql://", 1))

    def bootstrap_servers(self) -> str:
        """The Kafka bootstrap servers."""
        return self.kafka_bootstrap or f"{DEV_HOST}:{self.dev_kafka_port}"


def _user(url: str, name: str) -> str:
    try:
        user = make_url(url).username
    except Exception:  # the parser's message would quote the URL, password included
        raise ValueError(f"{name} is not a database URL") from None
    if not user:
        raise ValueError(f"{name} names no user (postgresql://USER:PASSWORD@HOST/DB)")
    return user


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once from the environment; the warnings they deserve are logged once."""
    settings = Settings()
    for warning in settings.warnings():
        log.warning(warning)
    return settings
