"""Okta and Entra ID exports become observations and enrolled factors at the export's instant."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from trustline.shared.connectors import Options
from trustline.shared.connectors.entra import map_entra
from trustline.shared.connectors.okta import map_okta

from .samples import entra_export, okta_export, okta_factor, okta_user
from .test_scanners import decodes

AT = datetime(2026, 3, 2, 6, tzinfo=UTC)
OPTS = Options(source="okta/acme", at=AT, admin_names=frozenset({"okta admins", "SUPER_ADMIN"}))


def of_type(events: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["type"] == type_]


def test_okta_users_and_factors() -> None:
    mapped = map_okta(okta_export(), OPTS)
    observed = {d["user_id"]: d for d in of_type(mapped.events, "identity.observed")}
    # ada: in "Okta Admins" (case-insensitive match); bob: SUPER_ADMIN role; carol: neither.
    assert {u: (d["privileged"], d.get("business_unit")) for u, d in observed.items()} == {
        "ada@acme.example": (True, "payments"),
        "bob@acme.example": (True, None),  # no department: the contract's default applies
        "carol@acme.example": (False, "payments"),
    }
    assert of_type(mapped.events, "identity.deactivated") == [{"user_id": "dave@acme.example"}]
    factors = {
        (d["user_id"], d["factor_id"], d["factor_type"]) for d in of_type(mapped.events, "mfa.enrolled")
    }
    # The pending push is not enrolled; the deprovisioned user's factors are not read.
    assert factors == {
        ("ada@acme.example", "fwf1", "webauthn"),
        ("ada@acme.example", "mbl2", "sms"),
        ("ada@acme.example", "uft3", "totp"),
        ("bob@acme.example", "u2f5", "fido2"),
        ("carol@acme.example", "clf6", "voice"),
        ("carol@acme.example", "emf7", "email"),
        ("carol@acme.example", "qst8", "other"),
    }
    assert mapped.ignored == {"factor not ACTIVE": 1}
    assert {e["time"] for e in mapped.events} == {AT.isoformat()}
    assert mapped.reported == {
        "ada@acme.example",
        "bob@acme.example",
        "carol@acme.example",
        "dave@acme.example",
    }
    decodes(mapped.events)


def test_okta_without_admin_names_nobody_is_privileged() -> None:
    mapped = map_okta(okta_export(), Options(source="okta", at=AT))
    assert not any(d["privileged"] for d in of_type(mapped.events, "identity.observed"))


def test_okta_refusals() -> None:
    nameless = okta_user("x@acme.example")
    nameless["profile"].pop("login")
    nameless.pop("id")
    typeless = okta_factor("f1", "sms")
    typeless.pop("factorType")
    export = [nameless, okta_user("e@acme.example", factors=[typeless]), "not a user"]
    mapped = map_okta(export, OPTS)
    assert [(r.record, r.reason) for r in mapped.refused] == [
        ("[0]", "invalid_data"),
        ("[1].factors[0]", "invalid_data"),
        ("[2]", "invalid_data"),
    ]
    assert ("e@acme.example", "f1") in mapped.reported_factors and not mapped.complete
    assert [r.reason for r in map_okta({"users": []}, OPTS).refused] == ["invalid_envelope"]


def test_entra_registration_details() -> None:
    mapped = map_entra(entra_export(), Options(source="entra/contoso", at=AT))
    observed = {d["user_id"]: d["privileged"] for d in of_type(mapped.events, "identity.observed")}
    assert observed == {
        "AdeleV@contoso.com": True,
        "AlexW@contoso.com": False,
        "DiegoS@contoso.com": False,
        "GradyA@contoso.com": False,
    }
    factors = {
        (d["user_id"], d["factor_id"], d["factor_type"]) for d in of_type(mapped.events, "mfa.enrolled")
    }
    assert factors == {
        ("AdeleV@contoso.com", "microsoftAuthenticatorPush", "push"),
        ("AdeleV@contoso.com", "fido2", "fido2"),
        ("AlexW@contoso.com", "mobilePhone", "sms"),
        ("AlexW@contoso.com", "softwareOneTimePasscode", "totp"),
        ("AlexW@contoso.com", "email", "email"),
        ("GradyA@contoso.com", "windowsHelloForBusiness", "webauthn"),
        ("GradyA@contoso.com", "someMethodGraphAddsLater", "other"),
    }
    decodes(mapped.events)


def test_entra_pages_and_admin_roles() -> None:
    page = entra_export()
    page["value"][1]["roles"] = [{"displayName": "Security Administrator"}]
    mapped = map_entra(
        [page, {"value": []}], Options(source="e", at=AT, admin_names=frozenset({"Security Administrator"}))
    )
    privileged = {d["user_id"] for d in of_type(mapped.events, "identity.observed") if d["privileged"]}
    assert privileged == {"AdeleV@contoso.com", "AlexW@contoso.com"}
    assert [r.reason for r in map_entra({"users": 1}, OPTS).refused] == ["invalid_envelope"]
