"""What every Kafka client is given for TLS and SASL, and which settings are refused as incomplete.

The embedded broker cannot prove SASL end to end, so each mechanism is checked by what the producer, the
consumer and the admin client receive: the same protocol, mechanism and credentials for all three.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
import trustme
from pydantic import ValidationError

from trustline.shared import kafka
from trustline.shared.kafka_tokens import FileTokenProvider
from trustline.shared.settings import Settings

CLIENTS = ("AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient")


class Recorded:
    """Stands in for an aiokafka client class: keeps the keyword arguments it was built with."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


@pytest.fixture(autouse=True)
def recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CLIENTS:
        monkeypatch.setattr(kafka, name, Recorded)


def _every_client(settings: Settings) -> list[dict[str, Any]]:
    return [
        kafka.producer(settings).kwargs,
        kafka.consumer(settings, group_id="g").kwargs,
        kafka.admin(settings, request_timeout_ms=1000).kwargs,
    ]


@pytest.fixture
def strimzi(tmp_path: Path) -> Path:
    """A KafkaUser secret and the cluster CA secret as Kubernetes mounts them: ca.crt, user.crt, user.key,
    password."""
    ca = trustme.CA()
    user = ca.issue_cert("trustline")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.crt"))
    user.cert_chain_pems[0].write_to_path(str(tmp_path / "user.crt"))
    user.private_key_pem.write_to_path(str(tmp_path / "user.key"))
    (tmp_path / "password").write_text("scram-secret\n")
    return tmp_path


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_ssl_gives_every_client_the_same_credentials_and_a_verifying_context(
    strimzi: Path, monkeypatch: pytest.MonkeyPatch, mechanism: str
) -> None:
    monkeypatch.setenv("TRUSTLINE_KAFKA_SASL_PASSWORD_FILE", str(strimzi / "password"))
    settings = Settings(
        kafka_bootstrap="kafka:9093",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism=mechanism,
        kafka_sasl_username="trustline",
        kafka_ssl_ca_file=strimzi / "ca.crt",
    )
    for kwargs in _every_client(settings):
        assert kwargs["security_protocol"] == "SASL_SSL"
        assert kwargs["sasl_mechanism"] == mechanism
        assert kwargs["sasl_plain_username"] == "trustline"
        assert kwargs["sasl_plain_password"] == "scram-secret"  # the file's text, without its newline
        context: ssl.SSLContext = kwargs["ssl_context"]
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        assert len(context.get_ca_certs()) == 1  # the cluster CA only, not the system's bundle


def test_mtls_loads_the_users_certificate(strimzi: Path) -> None:
    settings = Settings(
        kafka_bootstrap="kafka:9093",
        kafka_security_protocol="SSL",
        kafka_ssl_ca_file=strimzi / "ca.crt",
        kafka_ssl_cert_file=strimzi / "user.crt",
        kafka_ssl_key_file=strimzi / "user.key",
    )
    for kwargs in _every_client(settings):
        assert kwargs["security_protocol"] == "SSL" and "sasl_mechanism" not in kwargs
        assert isinstance(kwargs["ssl_context"], ssl.SSLContext)


async def test_oauthbearer_reads_its_token_file_for_every_token(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    settings = Settings(
        kafka_bootstrap="kafka:9093",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="OAUTHBEARER",
        kafka_sasl_oauth_token_provider="file",
        kafka_sasl_oauth_token_file=token,
    )
    providers = [kwargs["sasl_oauth_token_provider"] for kwargs in _every_client(settings)]
    assert all(isinstance(p, FileTokenProvider) for p in providers)
    assert await providers[0].token() == "first"
    token.write_text("refreshed")
    assert await providers[0].token() == "refreshed"


def test_msk_iam_names_its_extra_when_missing() -> None:
    settings = Settings(
        kafka_bootstrap="b-1.msk:9098",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="OAUTHBEARER",
        kafka_sasl_oauth_token_provider="aws-msk-iam",
        kafka_aws_region="eu-west-1",
    )
    try:
        import aws_msk_iam_sasl_signer  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match=r"trustline\[msk\]"):
            kafka.producer(settings)
    else:
        assert kafka.producer(settings).kwargs["sasl_mechanism"] == "OAUTHBEARER"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "needs TRUSTLINE_KAFKA_SASL_USERNAME"),
        ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "OAUTHBEARER"}, "TOKEN_PROVIDER"),
        (
            {
                "kafka_security_protocol": "SASL_SSL",
                "kafka_sasl_mechanism": "OAUTHBEARER",
                "kafka_sasl_oauth_token_provider": "aws-msk-iam",
            },
            "TRUSTLINE_KAFKA_AWS_REGION",
        ),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_cert_file": "/c"}, "go together"),
        ({"kafka_ssl_ca_file": "/ca.crt"}, "does not use TLS"),
        ({"kafka_security_protocol": "SASL_SCRAM"}, "kafka_security_protocol"),
    ],
)
def test_incomplete_kafka_security_is_refused_when_the_settings_load(
    given: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(kafka_bootstrap="kafka:9093", **given)


def test_a_missing_tls_file_is_a_setup_error_naming_it(tmp_path: Path) -> None:
    settings = Settings(kafka_security_protocol="SSL", kafka_ssl_ca_file=tmp_path / "absent.crt")
    with pytest.raises(Exception, match="Kafka TLS files: No such file or directory"):
        kafka.producer(settings)
