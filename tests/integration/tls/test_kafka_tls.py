"""Kafka over TLS (and mTLS, as Strimzi issues it): every kind of client through a real TLS endpoint.

A broker of its own advertises the TLS endpoint (servers.py), so bootstrap, metadata, produce, fetch and
group coordination all cross TLS. SASL cannot be proven end to end here (the embedded broker's SASL needs
storage its in-memory mode lacks): what each client is given is a unit test (tests/unit/shared), and a
broker refusing the handshake must stop a command with one line.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.helpers import clean_env
from tests.integration.tls.servers import Certificates, TlsProxy, broker_behind, certificates
from trustline.ingest.topics import ensure_topics
from trustline.shared import kafka
from trustline.shared.faults import SetupError
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return certificates(tmp_path_factory.mktemp("kafka-certs"))


@pytest.fixture(scope="module")
def mtls(certs: Certificates, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsProxy]:
    """A TLS endpoint that requires a client certificate, in front of a broker advertising it."""
    proxy = TlsProxy(upstream=0, cert=certs.server_cert, key=certs.server_key, client_ca=certs.ca)
    with broker_behind(proxy.port, tmp_path_factory.mktemp("broker") / "tansu.log") as port:
        proxy.upstream = port
        with proxy:
            yield proxy


def _settings(proxy: TlsProxy, certs: Certificates, tmp: Path, **tls: object) -> Settings:
    return Settings(
        kafka_bootstrap=f"127.0.0.1:{proxy.port}",
        kafka_security_protocol="SSL",
        topic_prefix=f"t{uuid.uuid4().hex[:8]}",
        topic_partitions=2,
        state_dir=tmp,
        **{"kafka_ssl_ca_file": certs.ca, "kafka_ssl_cert_file": certs.client_cert,
           "kafka_ssl_key_file": certs.client_key, **tls},
    )  # fmt: skip


async def test_every_client_works_over_mutual_tls(
    mtls: TlsProxy, certs: Certificates, tmp_path: Path
) -> None:
    settings = _settings(mtls, certs, tmp_path)
    before = mtls.handshakes
    created = await ensure_topics(settings)  # the admin client
    topic = f"{settings.topic_prefix}.assets"
    assert created[topic] == "created"
    producer = kafka.producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"over tls", key=b"k")
    finally:
        await producer.stop()
    consumer = kafka.consumer(settings, group_id=f"g{uuid.uuid4().hex[:6]}", auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.subscribe([topic])
        got = await consumer.getmany(timeout_ms=15000)
        while not got:
            got = await consumer.getmany(timeout_ms=15000)
    finally:
        await consumer.stop()
    assert [r.value for records in got.values() for r in records] == [b"over tls"]
    assert mtls.handshakes - before >= 3  # admin, producer and consumer each connected through TLS


def _cli(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, list[str], str]:
    done = subprocess.run([sys.executable, "-m", "trustline.cli", *args], env=clean_env(COLUMNS="400", **env),
                          cwd=cwd, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    output = done.stdout + done.stderr
    return done.returncode, [line for line in output.splitlines() if line.strip()], output


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("wrong CA", "the server's TLS certificate was refused: "),
        ("expired certificate", "the server's TLS certificate was refused: certificate has expired"),
        ("no client certificate", "TLS handshake failed"),
    ],
)
def test_a_tls_setting_to_fix_is_one_line(
    mtls: TlsProxy, certs: Certificates, tmp_path: Path, case: str, expected: str
) -> None:
    port = mtls.port
    env = {
        "TRUSTLINE_KAFKA_SECURITY_PROTOCOL": "SSL",
        # Strimzi's secrets mounted as they are: the cluster CA's ca.crt, the KafkaUser's user.crt and user.key
        "TRUSTLINE_KAFKA_SSL_CA_FILE": str(certs.ca),
        "TRUSTLINE_KAFKA_SSL_CERT_FILE": str(certs.client_cert),
        "TRUSTLINE_KAFKA_SSL_KEY_FILE": str(certs.client_key),
        "TRUSTLINE_STATE_DIR": str(tmp_path / "var"),
    }
    expired = None
    if case == "wrong CA":
        env["TRUSTLINE_KAFKA_SSL_CA_FILE"] = str(certs.other_ca)
    elif case == "no client certificate":
        del env["TRUSTLINE_KAFKA_SSL_CERT_FILE"], env["TRUSTLINE_KAFKA_SSL_KEY_FILE"]
    else:
        expired = TlsProxy(upstream=mtls.upstream, cert=certs.expired_cert, key=certs.expired_key)
        port = expired.port
        expired.__enter__()
    env["TRUSTLINE_KAFKA_BOOTSTRAP"] = f"127.0.0.1:{port}"
    try:
        code, lines, output = _cli("topics", "create", env=env, cwd=tmp_path)
    finally:
        if expired is not None:
            expired.__exit__()
    assert code == 1, output
    assert len(lines) == 1 and "Traceback" not in output, output
    assert lines[0].startswith(f"error: Kafka at 127.0.0.1:{port}: ") and expected in lines[0], lines[0]


async def test_a_broker_refusing_the_sasl_handshake_is_one_line(stack: Settings, tmp_path: Path) -> None:
    # The embedded broker offers no SCRAM: the handshake is refused, as a wrong mechanism would be.
    settings = stack.model_copy(update={
        "kafka_bootstrap": stack.bootstrap_servers(), "kafka_security_protocol": "SASL_PLAINTEXT",
        "kafka_sasl_mechanism": "SCRAM-SHA-512", "kafka_sasl_username": "trustline",
        "kafka_sasl_password": SecretStr("not-the-password"),
    })  # fmt: skip
    with pytest.raises(SetupError) as caught:
        await kafka.probe(settings)
    line = str(caught.value)
    assert line.startswith(f"Kafka at {stack.bootstrap_servers()}: SASL authentication failed"), line
    assert "\n" not in line and "not-the-password" not in line
