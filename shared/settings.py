"""The one settings class: every knob is a TRUSTLINE_* environment variable."""

from __future__ import annotations

import logging
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.engine import make_url

from . import dburl
from .kafka_checks import kafka_security_problem
from .secret_files import FileSettingsSource

DEV_HOST = "127.0.0.1"
# Development only: prod uses TRUSTLINE_INGEST_ATTRIBUTION_SECRET or no attribution signature at all.
DEV_ATTRIBUTION_KEY = b"trustline-dev-attribution"
# Development only: signs the pages' session cookies when TRUSTLINE_SESSION_SECRET is unset (prod needs one).
DEV_SESSION_SECRET = "trustline-dev-session-secret-not-for-production"
# What an identity-provider group may grant on the pages (events:write stays with API keys).
PAGE_SCOPES = ("read", "risk:propose", "risk:approve")
DEFAULT_MAX_SOURCES = 100  # `source` label values per snapshot (the aggregator's default too)
# The embedded development server's two roles: the schema owner (migrations) and the services' role.
DEV_OWNER_ROLE = "trustline"
DEV_SERVICE_ROLE = "trustline_app"
WIDE_HOSTS = frozenset({"0.0.0.0", "::", "", "*"})
UNAUTHENTICATED = frozenset({"reads", "metrics"})
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]*@", re.IGNORECASE)
_KV_PASSWORD = re.compile(r"(?P<head>password\s*=\s*)(?:'[^']*'|\S+)", re.IGNORECASE)
KafkaProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]
SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
ENV_PREFIX = "TRUSTLINE_"
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
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", hide_input_in_errors=True)

    env: Literal["dev", "prod"] = "dev"
    # The services' database URL, as a role granted only what they use (see shared/grants.py).
    # Unset in dev means "use the embedded server that `trustline dev up` manages".
    database_url: SecretStr | None = None
    # The schema owner's URL, used by `trustline migrate` only (required in prod). Unset in dev: the
    # embedded server's owner role, or TRUSTLINE_DATABASE_URL when that is set.
    migration_database_url: SecretStr | None = None
    # Fill in (or replace) the user and password of the URLs above, e.g. from a CloudNativePG secret
    # mounted as files (TRUSTLINE_DATABASE_PASSWORD_FILE=/secrets/db/password).
    database_user: str | None = None
    database_password: SecretStr | None = None
    migration_database_user: str | None = None
    migration_database_password: SecretStr | None = None
    # libpq's TLS parameters, added to both URLs unless a URL sets them itself.
    database_sslmode: SslMode | None = None
    database_sslrootcert: Path | None = None
    database_sslcert: Path | None = None
    database_sslkey: Path | None = None
    kafka_bootstrap: str | None = None
    # How every Kafka client reaches the cluster (shared/kafka.py). The file names are those of a Strimzi
    # KafkaUser secret (user.crt, user.key, password) and its cluster CA secret (ca.crt) when mounted.
    kafka_security_protocol: KafkaProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    # OAUTHBEARER tokens: from a file read again for every token (whatever refreshes it, e.g. a projected
    # token or a sidecar), or from AWS MSK IAM (the `msk` extra).
    kafka_sasl_oauth_token_provider: Literal["file", "aws-msk-iam"] | None = None
    kafka_sasl_oauth_token_file: Path | None = None
    kafka_aws_region: str | None = None
    kafka_ssl_ca_file: Path | None = None  # unset: the system's CA bundle
    kafka_ssl_cert_file: Path | None = None  # a client certificate (mTLS), with its key
    kafka_ssl_key_file: Path | None = None
    kafka_ssl_key_password: SecretStr | None = None
    kafka_ssl_check_hostname: bool = True
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
    # Raw events: whole months older than this many days are dropped (unset: kept for ever).
    raw_retention_days: int | None = Field(default=None, ge=1)

    # Each long-running component can serve its own pipeline metrics (unset: not served).
    metrics_host: str = "127.0.0.1"
    ingest_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    aggregator_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # The metrics port's /healthz fails when the component's loop has not beaten for this long (a loop
    # stuck in a call); deliberate waits beat, so keep it above the longest snapshot.
    heartbeat_max_age_seconds: float = Field(default=180.0, ge=5)
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

    # The pages (served by the API from `/`). People sign in with OpenID Connect (authorization code with
    # PKCE) at the company's identity provider; its groups map to scopes here, as JSON:
    # TRUSTLINE_OIDC_GROUP_SCOPES='{"security-leads": ["read", "risk:approve"]}'.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None  # confidential clients; a public client relies on PKCE
    oidc_scopes: str = "openid profile email"
    oidc_principal_claim: str = "email"  # the claim that names the person in the audit trail
    oidc_groups_claim: str = "groups"
    oidc_group_scopes: dict[str, list[str]] = {}
    # The pages' address as people reach it (the OpenID Connect redirect goes to <public_url>/auth/callback);
    # default: http://<api host>:<api port>. Never taken from a request's Host header.
    public_url: str | None = None
    # Signs the session cookies (at least 32 characters); a fixed development value in dev.
    session_secret: SecretStr | None = None
    session_max_age_seconds: int = Field(default=8 * 3600, ge=60, le=7 * 86400)
    # The local development sign-in (any name and scopes, no identity provider): on in dev, refused in prod.
    dev_sign_in: bool | None = None
    # Where the KPI pages link to the matching Grafana boards (unset: no links), e.g. https://grafana.example
    grafana_url: str | None = None

    @field_validator("oidc_group_scopes")
    @classmethod
    def _page_scopes_only(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for group, scopes in value.items():
            unknown = sorted(set(scopes) - set(PAGE_SCOPES))
            if unknown:
                raise ValueError(
                    f"TRUSTLINE_OIDC_GROUP_SCOPES: group {group!r} maps to {', '.join(unknown)}; "
                    f"a group may grant {', '.join(PAGE_SCOPES)}"
                )
        return value

    @field_validator("public_url", "grafana_url", "oidc_issuer")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError("expected an http(s) URL without query or fragment, e.g. https://host/path")
        return value.rstrip("/") if value is not None else None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then TRUSTLINE_* variables, then TRUSTLINE_*_FILE files (shared/secret_files.py)."""
        files = FileSettingsSource(settings_cls, ENV_PREFIX)
        return init_settings, env_settings, files, dotenv_settings, file_secret_settings

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
    def _kafka_security_is_complete(self) -> Settings:
        if problem := kafka_security_problem(self):
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _prod_is_explicit_and_safe(self) -> Settings:
        if self.env != "prod":
            return self
        if self.database_url is None or self.kafka_bootstrap is None:
            raise ValueError(
                "TRUSTLINE_ENV=prod requires TRUSTLINE_DATABASE_URL and TRUSTLINE_KAFKA_BOOTSTRAP"
            )
        if refusals := self.prod_refusals() + self.pages_refusals():
            raise ValueError("TRUSTLINE_ENV=prod refuses to start: " + " ".join(refusals))
        return self

    def pages_refusals(self) -> list[str]:
        """prod settings that would let the pages sign someone in unsafely."""
        out: list[str] = []
        if self.dev_sign_in:
            out.append("TRUSTLINE_DEV_SIGN_IN=true: the local sign-in lets anyone pick a name and scopes.")
        if self.oidc_issuer is not None:
            secret = self.session_secret.get_secret_value() if self.session_secret else ""
            if len(secret) < 32:
                out.append("TRUSTLINE_OIDC_ISSUER needs TRUSTLINE_SESSION_SECRET (32 characters or more).")
            if not (self.public_url or "").startswith("https://"):
                out.append(
                    "TRUSTLINE_OIDC_ISSUER needs TRUSTLINE_PUBLIC_URL on https:// (sessions are Secure)."
                )
            if not self.oidc_client_id:
                out.append("TRUSTLINE_OIDC_ISSUER needs TRUSTLINE_OIDC_CLIENT_ID.")
        return out

    @property
    def dev_sign_in_enabled(self) -> bool:
        """True when the local development sign-in is offered (dev only, unless switched off)."""
        return self.env == "dev" and self.dev_sign_in is not False

    def pages_url(self) -> str:
        """Where people reach the pages."""
        return self.public_url or f"http://{self.api_host}:{self.api_port}"

    def session_key(self) -> str:
        """The key that signs session cookies (the fixed development value in dev when unset)."""
        if self.session_secret is not None:
            return self.session_secret.get_secret_value()
        if self.env == "dev":
            return DEV_SESSION_SECRET
        # prod without single sign-on: nobody can sign in, yet forms still need a signed cookie.
        return secrets.token_urlsafe(32)

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
        out.extend(self._transport_warnings())
        if self.metrics_host in WIDE_HOSTS and (self.ingest_metrics_port or self.aggregator_metrics_port):
            out.append(
                f"pipeline metrics listen on every interface ({self.metrics_host or '*'}) without "
                "authentication."
            )
        return out

    def _transport_warnings(self) -> list[str]:
        if self.env != "prod":
            return []
        out = []
        if not self.kafka_security_protocol.endswith("SSL"):
            out.append(f"TRUSTLINE_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol}: events cross the "
                       "network unencrypted.")  # fmt: skip
        mode = dburl.sslmode(self.sqlalchemy_url())
        if mode not in dburl.VERIFYING:
            out.append(f"PostgreSQL sslmode={mode or 'prefer'}: the server's certificate is not verified "
                       "(TRUSTLINE_DATABASE_SSLMODE=verify-full).")  # fmt: skip
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

    def _tls(self) -> dict[str, str]:
        given = {
            "sslmode": self.database_sslmode,
            "sslrootcert": self.database_sslrootcert,
            "sslcert": self.database_sslcert,
            "sslkey": self.database_sslkey,
        }
        return {k: str(v) for k, v in given.items() if v is not None}

    def _complete(self, url: SecretStr, user: str | None, password: SecretStr | None) -> str:
        secret = password.get_secret_value() if password is not None else None
        full = dburl.complete(url.get_secret_value(), user=user, password=secret, tls=self._tls())
        return _asyncpg_url(full)

    def sqlalchemy_url(self) -> str:
        """The services' database URL (asyncpg dialect), with its credentials and TLS parameters."""
        if self.database_url is None:
            return self._dev_url(DEV_SERVICE_ROLE)
        return self._complete(self.database_url, self.database_user, self.database_password)

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
            return self._complete(
                self.migration_database_url, self.migration_database_user, self.migration_database_password
            )
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
