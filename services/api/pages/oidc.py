"""OpenID Connect sign-in through Authlib: authorization code with PKCE (S256), state and nonce checked,
the ID token verified against the provider's published keys; the provider's groups map to scopes.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import authlib.deprecate  # noqa: F401  (adds its own "always" filter when first imported: before ours)

from trustline.shared.settings import Settings

with warnings.catch_warnings():
    # Authlib announces a move to an `httpx2` package; its client still runs on httpx, which we install.
    warnings.simplefilter("ignore")
    from authlib.integrations.starlette_client import OAuth


@dataclass(frozen=True)
class PagesConfig:
    """What the pages need from the settings, read once when the app is built."""

    public_url: str
    dev_sign_in: bool
    grafana_url: str | None
    principal_claim: str = "email"
    groups_claim: str = "groups"
    group_scopes: Mapping[str, list[str]] = field(default_factory=dict)
    provider: Any = None  # Authlib's client for the identity provider; None without one

    @property
    def single_sign_on(self) -> bool:
        """True when an identity provider is configured."""
        return self.provider is not None


def scopes_for(groups: Iterable[str], mapping: Mapping[str, list[str]]) -> frozenset[str]:
    """The union of the scopes the person's groups map to (unknown groups grant nothing)."""
    return frozenset(scope for group in groups for scope in mapping.get(group, ()))


def groups_of(claims: Mapping[str, Any], claim: str) -> list[str]:
    """The groups an ID token lists (a single string counts as one group; anything else as none)."""
    value = claims.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [g for g in value if isinstance(g, str)]
    return []


def config(settings: Settings) -> PagesConfig:
    """The pages' configuration, with the identity provider's client when one is configured."""
    provider = None
    if settings.oidc_issuer and settings.oidc_client_id:
        oauth = OAuth()
        secret = settings.oidc_client_secret
        provider = oauth.register(
            name="idp",
            client_id=settings.oidc_client_id,
            client_secret=secret.get_secret_value() if secret else None,
            server_metadata_url=f"{settings.oidc_issuer}/.well-known/openid-configuration",
            client_kwargs={
                "scope": settings.oidc_scopes,
                "code_challenge_method": "S256",
                # A public client (PKCE alone) authenticates at the token endpoint by its id only.
                **({} if secret else {"token_endpoint_auth_method": "none"}),
            },
        )
    return PagesConfig(
        public_url=settings.pages_url(),
        dev_sign_in=settings.dev_sign_in_enabled,
        grafana_url=settings.grafana_url,
        principal_claim=settings.oidc_principal_claim,
        groups_claim=settings.oidc_groups_claim,
        group_scopes=settings.oidc_group_scopes,
        provider=provider,
    )
