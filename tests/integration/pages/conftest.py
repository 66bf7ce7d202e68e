"""The pages' servers: the API (with its pages) on a known port, and a real OpenID Connect provider."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from oidc_provider_mock import User, run_server_in_thread
from pydantic import SecretStr

from tests.conftest import free_port, serve_api
from trustline.shared.settings import Settings

# The identity provider's people and groups; the API maps groups to scopes as configured below.
PEOPLE = (
    User(sub="u-rita", claims={"email": "rita@example.com", "groups": ["risk-owners"]}),
    User(sub="u-avery", claims={"email": "avery@example.com", "groups": ["security-leads"]}),
    User(sub="u-sam", claims={"email": "sam@example.com", "groups": ["risk-owners", "security-leads"]}),
    User(sub="u-nobody", claims={"email": "nobody@example.com", "groups": ["cafeteria"]}),
)
GROUP_SCOPES = {"risk-owners": ["read", "risk:propose"], "security-leads": ["read", "risk:approve"]}


@pytest.fixture(scope="session")
def identity_provider() -> Iterator[str]:
    """oidc-provider-mock on a free port: a real authorization server (codes, tokens, signed ID tokens)."""
    with run_server_in_thread(user_claims=PEOPLE, require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


@dataclass(frozen=True)
class Pages:
    """A running API with its pages."""

    url: str
    settings: Settings


@pytest.fixture
async def pages(clean: Settings, identity_provider: str) -> AsyncIterator[Pages]:
    """The API on a known port, signing in at the identity provider, with the local sign-in too (dev)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = clean.model_copy(
        update={
            "oidc_issuer": identity_provider,
            "oidc_client_id": "trustline-pages",
            "oidc_client_secret": SecretStr(
                "pages-client-secret"
            ),  # confidential client (the provider asks for one)
            "oidc_group_scopes": GROUP_SCOPES,
            "public_url": url,
            "api_port": port,
        }
    )
    async with serve_api(settings, port=port) as served:
        assert served == url
        yield Pages(url, settings)
