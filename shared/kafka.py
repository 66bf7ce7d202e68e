"""Every Kafka client is built here, from the settings.

One place knows how a client reaches the cluster (bootstrap servers, TLS, SASL) and what every client of
a kind must do; a caller adds only what its purpose needs (sizes, linger, timeouts). `probe` opens one
connection with those same settings, so a wrong CA, an expired certificate or a refused password is told
in one line before a component starts, not swallowed by the client's bootstrap retries.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any, Literal, TypedDict, Unpack

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.conn import create_conn
from aiokafka.errors import KafkaError
from aiokafka.helpers import create_ssl_context

from . import faults
from .kafka_tokens import token_provider
from .settings import Settings


class ProducerOptions(TypedDict, total=False):
    """What a producer sets for its purpose; aiokafka's defaults otherwise."""

    linger_ms: int
    max_request_size: int
    request_timeout_ms: int


class ConsumerOptions(TypedDict, total=False):
    """What a consumer sets for its purpose; aiokafka's defaults otherwise."""

    group_id: str
    auto_offset_reset: Literal["earliest", "latest", "none"]
    max_poll_records: int
    fetch_max_bytes: int
    max_partition_fetch_bytes: int


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of every client (None without TLS): the CA (else the system's) and a client cert."""
    if not settings.kafka_security_protocol.endswith("SSL"):
        return None
    password = settings.kafka_ssl_key_password
    try:
        context: ssl.SSLContext = create_ssl_context(
            cafile=settings.kafka_ssl_ca_file,
            certfile=settings.kafka_ssl_cert_file,
            keyfile=settings.kafka_ssl_key_file,
            password=password.get_secret_value() if password is not None else None,
        )
    except (OSError, ssl.SSLError) as exc:
        raise faults.SetupError(f"Kafka TLS files: {faults.reason(exc)}") from None
    context.check_hostname = settings.kafka_ssl_check_hostname
    return context


def _sasl(settings: Settings) -> dict[str, Any]:
    if not settings.kafka_security_protocol.startswith("SASL"):
        return {}
    mechanism = settings.kafka_sasl_mechanism
    if mechanism == "OAUTHBEARER":
        return {"sasl_mechanism": mechanism, "sasl_oauth_token_provider": token_provider(settings)}
    password = settings.kafka_sasl_password
    return {
        "sasl_mechanism": mechanism,
        "sasl_plain_username": settings.kafka_sasl_username,
        "sasl_plain_password": password.get_secret_value() if password is not None else None,
    }


def connection(settings: Settings) -> dict[str, Any]:
    """How a connection to a broker is secured: the protocol, its TLS context and SASL credentials."""
    return {
        "security_protocol": settings.kafka_security_protocol,
        "ssl_context": ssl_context(settings),
        **_sasl(settings),
    }


def _cluster(settings: Settings) -> dict[str, Any]:
    """How every client reaches the cluster."""
    return {"bootstrap_servers": settings.bootstrap_servers(), **connection(settings)}


def producer(settings: Settings, **options: Unpack[ProducerOptions]) -> AIOKafkaProducer:
    """A producer (not started) whose sends are acknowledged once every in-sync replica holds the record."""
    return AIOKafkaProducer(**_cluster(settings), acks="all", **options)


def consumer(settings: Settings, **options: Unpack[ConsumerOptions]) -> AIOKafkaConsumer:
    """A consumer (not started) that never commits on its own: offsets move only after the database."""
    return AIOKafkaConsumer(**_cluster(settings), enable_auto_commit=False, **options)


def admin(settings: Settings, *, request_timeout_ms: int) -> AIOKafkaAdminClient:
    """An admin client (not started), for topic management."""
    return AIOKafkaAdminClient(**_cluster(settings), request_timeout_ms=request_timeout_ms)


def retriable(exc: BaseException) -> bool:
    """True when the Kafka client marks `exc` as a fault that may pass (a lost connection, an election)."""
    return isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", False))


def _address(server: str) -> tuple[str, int]:
    host, _, port = server.strip().rpartition(":")
    return host.strip("[]"), int(port)


# ApiVersions v0 with correlation id 1 and client id "trustline-probe": the smallest request every broker
# answers, before any authentication.
_CLIENT_ID = b"trustline-probe"
_API_VERSIONS = (18).to_bytes(2, "big") + (0).to_bytes(2, "big") + (1).to_bytes(4, "big")
_API_VERSIONS += len(_CLIENT_ID).to_bytes(2, "big") + _CLIENT_ID
_API_VERSIONS = len(_API_VERSIONS).to_bytes(4, "big") + _API_VERSIONS


async def _tls_round_trip(host: str, port: int, context: ssl.SSLContext) -> None:
    """One request over TLS: with TLS 1.3 a refused client certificate shows only at the first read."""
    reader, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=host)
    try:
        writer.write(_API_VERSIONS)
        await writer.drain()
        await reader.readexactly(4)
    finally:
        writer.close()


async def probe(settings: Settings, *, seconds: float = 10.0) -> None:
    """Connect to the first bootstrap server as every client does (TLS handshake, SASL authentication).

    Raises faults.SetupError, in one line, when the settings themselves are wrong; a server that cannot be
    reached is left to the clients' own retries (it may still be starting).
    """
    server = settings.bootstrap_servers().split(",")[0]
    host, port = _address(server)
    options = connection(settings)
    try:
        async with asyncio.timeout(seconds):
            if options["ssl_context"] is not None:
                await _tls_round_trip(host, port, options["ssl_context"])
            conn = await create_conn(host, port, **options)
    except Exception as exc:
        if (line := faults.explain(exc, what="Kafka", where=server, hint=_HINT)) is not None:
            raise faults.SetupError(line) from None
        return
    conn.close()


_HINT = faults.Hint(
    ca="TRUSTLINE_KAFKA_SSL_CA_FILE",
    cert="TRUSTLINE_KAFKA_SSL_CERT_FILE and TRUSTLINE_KAFKA_SSL_KEY_FILE",
    password="TRUSTLINE_KAFKA_SASL_USERNAME and TRUSTLINE_KAFKA_SASL_PASSWORD",
)
