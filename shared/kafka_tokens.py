"""OAUTHBEARER token providers for the Kafka clients: a token file, or AWS MSK IAM (the `msk` extra)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from aiokafka.abc import AbstractTokenProvider

from .secret_files import read_secret
from .settings import Settings

# A token is renewed this long before it expires, so a connection never presents an expired one.
RENEW_BEFORE_SECONDS = 60.0


class FileTokenProvider(AbstractTokenProvider):  # type: ignore[misc]
    """The token in a file, read for every connection: whatever refreshes the file keeps tokens fresh."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def token(self) -> str:
        """The file's current token."""
        return await asyncio.to_thread(read_secret, self.path, "TRUSTLINE_KAFKA_SASL_OAUTH_TOKEN_FILE")


class MskIamTokenProvider(AbstractTokenProvider):  # type: ignore[misc]
    """A signed AWS MSK IAM token from the pod's AWS credentials, reused until shortly before it expires."""

    def __init__(self, region: str) -> None:
        try:
            from aws_msk_iam_sasl_signer import MSKAuthTokenProvider
        except ImportError:
            raise ValueError(
                "TRUSTLINE_KAFKA_SASL_OAUTH_TOKEN_PROVIDER=aws-msk-iam needs the `msk` extra: "
                "pip install 'trustline[msk]'"
            ) from None
        self._signer = MSKAuthTokenProvider
        self.region = region
        self._token = ""
        self._expires = 0.0

    async def token(self) -> str:
        """A valid token, signed again when the current one is about to expire."""
        if time.time() >= self._expires - RENEW_BEFORE_SECONDS:
            token, expiry_ms = await asyncio.to_thread(self._signer.generate_auth_token, self.region)
            self._token, self._expires = token, expiry_ms / 1000
        return self._token


def token_provider(settings: Settings) -> AbstractTokenProvider:
    """The provider the settings name (they were checked complete when loaded)."""
    if settings.kafka_sasl_oauth_token_provider == "aws-msk-iam":
        assert settings.kafka_aws_region is not None
        return MskIamTokenProvider(settings.kafka_aws_region)
    assert settings.kafka_sasl_oauth_token_file is not None
    return FileTokenProvider(settings.kafka_sasl_oauth_token_file)
