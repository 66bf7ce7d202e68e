"""Whether the Kafka security settings fit together (checked when the settings load)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .settings import Settings

PROVIDER = "TRUSTLINE_KAFKA_SASL_OAUTH_TOKEN_PROVIDER"


def kafka_security_problem(s: Settings) -> str | None:
    """What the Kafka security settings lack or contradict, in one sentence (None: they are complete)."""
    tls = s.kafka_security_protocol.endswith("SSL")
    files = [s.kafka_ssl_ca_file, s.kafka_ssl_cert_file, s.kafka_ssl_key_file]
    if not tls and any(f is not None for f in files):
        return (f"TRUSTLINE_KAFKA_SSL_* files are set but TRUSTLINE_KAFKA_SECURITY_PROTOCOL="
                f"{s.kafka_security_protocol} does not use TLS (SSL or SASL_SSL)")  # fmt: skip
    if (s.kafka_ssl_cert_file is None) != (s.kafka_ssl_key_file is None):
        return "TRUSTLINE_KAFKA_SSL_CERT_FILE and TRUSTLINE_KAFKA_SSL_KEY_FILE go together (mTLS)"
    if not s.kafka_security_protocol.startswith("SASL"):
        return None
    if s.kafka_sasl_mechanism == "OAUTHBEARER":
        if s.kafka_sasl_oauth_token_provider is None:
            return f"SASL OAUTHBEARER needs {PROVIDER} (file or aws-msk-iam)"
        if s.kafka_sasl_oauth_token_provider == "file" and s.kafka_sasl_oauth_token_file is None:
            return f"{PROVIDER}=file needs TRUSTLINE_KAFKA_SASL_OAUTH_TOKEN_FILE"
        if s.kafka_sasl_oauth_token_provider == "aws-msk-iam" and not s.kafka_aws_region:
            return f"{PROVIDER}=aws-msk-iam needs TRUSTLINE_KAFKA_AWS_REGION"
        return None
    if not s.kafka_sasl_username or s.kafka_sasl_password is None:
        return (f"SASL {s.kafka_sasl_mechanism} needs TRUSTLINE_KAFKA_SASL_USERNAME and "
                "TRUSTLINE_KAFKA_SASL_PASSWORD (or TRUSTLINE_KAFKA_SASL_PASSWORD_FILE)")  # fmt: skip
    return None
