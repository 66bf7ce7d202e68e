"""Okta users with their factors: the Users API (`GET /api/v1/users`) objects, each carrying its factors.

The export is a JSON array (or JSON lines) of Okta user objects as `/api/v1/users` returns them, each with
`factors` (the array `GET /api/v1/users/{id}/factors` returns), and optionally `groups`
(`/api/v1/users/{id}/groups`) and `roles` (`/api/v1/users/{id}/roles`); `_embedded.factors` etc. are read
too. The user is `profile.login` (else `id`); a user is privileged when one of its groups (`profile.name`)
or roles (`type`, `label`) is among the configured admin names; its business unit is
`profile.department`. DEPROVISIONED and SUSPENDED users are deactivated. Only ACTIVE factors are enrolled.
Okta's factor types map to the contract's; security questions, Okta Verify's FastPass (`signed_nonce`),
hardware and vendor OTP tokens map to `other`, HOTP to `totp`; a type
Okta adds later maps to `other`.
"""

from __future__ import annotations

from typing import Any, Final

from .common import ConnectorError, Mapped, Options, get, records, scan_instant, text
from .identities import User, privileged
from .scanners import usable_id

FACTOR_TYPES: Final = {
    "webauthn": "webauthn",
    "u2f": "fido2",
    "token:software:totp": "totp",
    "token:hotp": "totp",
    "push": "push",
    "sms": "sms",
    "call": "voice",
    "email": "email",
    "question": "other",
    "token": "other",
    "token:hardware": "other",
    "web": "other",
    "signed_nonce": "other",
}
_INACTIVE: Final = frozenset({"DEPROVISIONED", "SUSPENDED"})


def map_okta(doc: Any, opts: Options) -> Mapped:
    """Each user as identity.observed (or .deactivated) and its active factors as mfa.enrolled."""
    mapped = Mapped("identity")
    at = scan_instant(mapped, opts, None, field_name="export time")
    users = doc if isinstance(doc, list) else [doc] if isinstance(doc, dict) and "profile" in doc else None
    if users is None:
        mapped.refuse_document(str(_not_okta()))
        return mapped
    for i, raw in enumerate(users):
        _user(mapped, opts, at, f"[{i}]", raw)
    return mapped


def _not_okta() -> ConnectorError:
    return ConnectorError("not an Okta users export: a JSON array of /api/v1/users objects with `factors`")


def _listed(raw: Any, name: str) -> list[Any]:
    return records(get(raw, name)) or records(get(raw, "_embedded", name))


def _user(mapped: Mapped, opts: Options, at: Any, record: str, raw: Any) -> None:
    user_id = text(get(raw, "profile", "login")) or text(get(raw, "id"))
    if not isinstance(raw, dict) or not usable_id(user_id):
        mapped.refuse(record, "invalid_data", "an Okta user needs `profile.login` or `id`", identified=False)
        return
    assert user_id is not None
    user = User("okta", mapped, opts, at, user_id)
    status = text(raw.get("status"))
    if status is not None and status.upper() in _INACTIVE:
        user.deactivated()
        return
    names = [text(get(g, "profile", "name")) for g in _listed(raw, "groups")]
    names += [text(get(r, k)) for r in _listed(raw, "roles") for k in ("type", "label")]
    user.observed(
        is_privileged=privileged(opts.admin_names, names),
        business_unit=text(get(raw, "profile", "department")),
    )
    for f, factor in enumerate(_listed(raw, "factors")):
        _factor(mapped, user, f"{record}.factors[{f}]", factor)


def _factor(mapped: Mapped, user: User, record: str, factor: Any) -> None:
    kind, fid = text(get(factor, "factorType")), text(get(factor, "id"))
    if not usable_id(fid):
        mapped.refuse(record, "invalid_data", "an Okta factor needs an `id`", identified=False)
        return
    assert fid is not None
    if kind is None:
        mapped.reported_factors.add((user.user_id, fid))
        mapped.refuse(record, "invalid_data", "an Okta factor needs a `factorType`")
        return
    if text(get(factor, "status")) != "ACTIVE":
        mapped.ignored["factor not ACTIVE"] += 1
        return
    # A type Okta adds later is still a factor: `other` until this table knows it.
    user.factor(FACTOR_TYPES.get(kind.lower(), "other"), fid)
