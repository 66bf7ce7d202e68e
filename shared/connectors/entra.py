"""Entra ID authentication-method registration details (Microsoft Graph
`GET /reports/authenticationMethods/userRegistrationDetails`, v1.0).

The export is the Graph response (`{"value": [...]}`), an array of such pages, or the array of
`userRegistrationDetails` objects. The user is `userPrincipalName` (else `id`); it is privileged when
`isAdmin` is true or, when the export adds them, one of its `roles` or `groups` (names or objects with
`displayName`) is among the configured admin names. Each entry of `methodsRegistered` is an enrolled
factor (its id is the method's name). Graph's report has no business unit and no account state: every
user is observed active in `unassigned` (a full scan deactivates the users it no longer lists).
"""

from __future__ import annotations

from typing import Any, Final

from .common import Mapped, Options, get, records, scan_instant, text
from .identities import User, privileged
from .scanners import usable_id

METHOD_TYPES: Final = {
    "fido2": "fido2",
    "passkeydevicebound": "fido2",
    "passkeydeviceboundauthenticator": "fido2",
    "passkeydeviceboundwindowshello": "fido2",
    "windowshelloforbusiness": "webauthn",
    "macossecureenclavekey": "webauthn",
    "x509certificatemultifactor": "smartcard",
    "x509certificatesinglefactor": "smartcard",
    "microsoftauthenticatorpush": "push",
    "microsoftauthenticatorpasswordless": "push",
    "appnotification": "push",
    "softwareonetimepasscode": "totp",
    "hardwareonetimepasscode": "totp",
    "appcode": "totp",
    "mobilephone": "sms",
    "alternatemobilephone": "sms",
    "officephone": "voice",
    "email": "email",
    "securityquestion": "other",
    "temporaryaccesspass": "other",
    "externalauthmethod": "other",
}


def _users(doc: Any) -> list[Any] | None:
    if isinstance(doc, dict) and isinstance(doc.get("value"), list):
        return list(doc["value"])
    if isinstance(doc, list) and doc and all(isinstance(p, dict) and "value" in p for p in doc):
        return [u for page in doc for u in records(page.get("value"))]
    return doc if isinstance(doc, list) else None


def map_entra(doc: Any, opts: Options) -> Mapped:
    """Each user as identity.observed and each registered method as mfa.enrolled, at the export's instant."""
    mapped = Mapped("identity")
    at = scan_instant(mapped, opts, None, field_name="export time")
    users = _users(doc)
    if users is None:
        detail = 'not a userRegistrationDetails export: a Graph response `{"value": [...]}` or an array'
        mapped.refuse_document(detail)
        return mapped
    for i, raw in enumerate(users):
        _user(mapped, opts, at, f"value[{i}]", raw)
    return mapped


def _name(item: Any) -> str | None:
    return text(item) if isinstance(item, str) else text(get(item, "displayName"))


def _user(mapped: Mapped, opts: Options, at: Any, record: str, raw: Any) -> None:
    user_id = text(get(raw, "userPrincipalName")) or text(get(raw, "id"))
    if not isinstance(raw, dict) or not usable_id(user_id):
        mapped.refuse(record, "invalid_data", "a user needs `userPrincipalName` or `id`", identified=False)
        return
    assert user_id is not None
    user = User("entra", mapped, opts, at, user_id)
    names = [_name(x) for k in ("roles", "groups") for x in records(raw.get(k))]
    admin = raw.get("isAdmin") is True or privileged(opts.admin_names, names)
    user.observed(is_privileged=admin, business_unit=None)
    for m, method in enumerate(records(raw.get("methodsRegistered"))):
        name = text(method)
        if not usable_id(name):
            mapped.refuse(
                f"{record}.methodsRegistered[{m}]", "invalid_data", "not a method name", identified=False
            )
            continue
        assert name is not None
        user.factor(METHOD_TYPES.get(name.lower(), "other"), name)
