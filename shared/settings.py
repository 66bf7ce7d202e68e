"""The one settings class: every knob is a TRUSTLINE_* environment variable."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_HOST = "127.0.0.1"
# Development only: prod uses TRUSTLINE_INGEST_ATTRIBUTION_SECRET or no attribution signature at all.
DEV_ATTRIBUTION_KEY = b"trustline-dev-attribution"
DEFAULT_MAX_SOURCES = 100  # `source` label values per snapshot (the aggregator's default too)


class Settings(BaseSettings):
    """Runtime configuration; in `prod` nothing falls back to a development default."""

    model_config = SettingsConfigDict(env_prefix="TRUSTLINE_", extra="ignore")

    env: Literal["dev", "prod"] = "dev"
    # Unset in dev means "use the embedded server that `trustline dev up` manages".
    database_url: SecretStr | None = None
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

    @field_validator("api_allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return [h.strip() for h in value.split(",") if h.strip()] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _prod_needs_explicit_endpoints(self) -> Settings:
        if self.env == "prod" and (self.database_url is None or self.kafka_bootstrap is None):
            raise ValueError(
                "TRUSTLINE_ENV=prod requires TRUSTLINE_DATABASE_URL and TRUSTLINE_KAFKA_BOOTSTRAP"
            )
        return self

    @property
    def manages_postgres(self) -> bool:
        """True when the embedded development PostgreSQL is the database."""
        return self.database_url is None

    @property
    def manages_broker(self) -> bool:
        """True when the embedded development broker is the Kafka cluster."""
        return self.kafka_bootstrap is None

    def sqlalchemy_url(self) -> str:
        """The database URL for SQLAlchemy's asyncpg dialect."""
        if self.database_url is None:
            # The embedded server trusts loopback connections: a development-only set-up.
            return f"postgresql+asyncpg://trustline@{DEV_HOST}:{self.dev_postgres_port}/trustline"
        url = self.database_url.get_secret_value()
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        return url

    def asyncpg_dsn(self) -> str:
        """The database URL in the form asyncpg takes."""
        return self.sqlalchemy_url().replace("postgresql+asyncpg://", "postgresql://", 1)

    def attribution_key(self) -> bytes | None:
        """The HMAC key for submitter attribution (a fixed development value in dev when unset)."""
        if self.ingest_attribution_secret is not None:
            return self.ingest_attribution_secret.get_secret_value().encode()
        return DEV_ATTRIBUTION_KEY if self.env == "dev" else None

    def bootstrap_servers(self) -> str:
        """The Kafka bootstrap servers."""
        return self.kafka_bootstrap or f"{DEV_HOST}:{self.dev_kafka_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once from the environment."""
    return Settings()
