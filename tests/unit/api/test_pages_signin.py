"""The pages' sign-in rules that need no server: groups to scopes, the groups claim, prod refusals."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from trustline.api.pages.oidc import groups_of, scopes_for
from trustline.shared.settings import Settings

MAPPING = {"risk-owners": ["read", "risk:propose"], "security-leads": ["read", "risk:approve"]}
PROD = {"env": "prod", "database_url": "postgresql://app@db/t", "kafka_bootstrap": "k:9092",
        "allow_unauthenticated": "metrics"}  # fmt: skip


def test_scopes_are_the_union_of_the_groups_mapped() -> None:
    assert scopes_for(["risk-owners", "security-leads"], MAPPING) == {"read", "risk:propose", "risk:approve"}
    assert scopes_for(["risk-owners", "cafeteria"], MAPPING) == {"read", "risk:propose"}
    assert scopes_for([], MAPPING) == frozenset()


def test_the_groups_claim_is_read_defensively() -> None:
    assert groups_of({"groups": ["a", "b"]}, "groups") == ["a", "b"]
    assert groups_of({"groups": "a"}, "groups") == ["a"]
    assert groups_of({"groups": ["a", 7, None, {"x": 1}]}, "groups") == ["a"]
    assert groups_of({"groups": {"a": True}}, "groups") == []
    assert groups_of({}, "groups") == []


def test_a_group_may_grant_only_the_pages_scopes() -> None:
    with pytest.raises(ValidationError, match="events:write"):
        Settings(oidc_group_scopes={"tools": ["events:write"]})


def test_prod_refuses_the_local_sign_in() -> None:
    with pytest.raises(ValidationError, match="TRUSTLINE_DEV_SIGN_IN=true"):
        Settings(**PROD, dev_sign_in=True)
    assert not Settings(**PROD).dev_sign_in_enabled
    assert Settings().dev_sign_in_enabled and not Settings(dev_sign_in=False).dev_sign_in_enabled


def test_prod_single_sign_on_needs_a_session_secret_and_https() -> None:
    oidc = {"oidc_issuer": "https://idp.example.com", "oidc_client_id": "trustline"}
    with pytest.raises(ValidationError, match="SESSION_SECRET.*PUBLIC_URL on https"):
        Settings(**PROD, **oidc, public_url="http://trustline.example.com")
    with pytest.raises(ValidationError, match="SESSION_SECRET"):
        Settings(**PROD, **oidc, public_url="https://t.example.com", session_secret="short")
    ok = Settings(**PROD, **oidc, public_url="https://t.example.com", session_secret="s" * 32)
    assert ok.session_key() == "s" * 32 and ok.pages_url() == "https://t.example.com"


def test_the_development_session_key_is_never_prods() -> None:
    prod_keys = {Settings(**PROD).session_key() for _ in range(2)}
    assert len(prod_keys) == 2  # random per process: nobody can sign in without single sign-on anyway
    assert Settings().session_key() not in prod_keys


def test_urls_are_plain_http_addresses() -> None:
    for bad in ("javascript:alert(1)", "https://x/?a=b", "ftp://x", "https://x y"):
        with pytest.raises(ValidationError):
            Settings(grafana_url=bad)
    assert Settings(grafana_url="https://grafana.example.com/").grafana_url == "https://grafana.example.com"
