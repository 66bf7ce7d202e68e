"""OCSF records (e.g. Prowler's json-ocsf output) mapped to the contract's CloudEvents.

Each mapper turns one OCSF record into one or more structured CloudEvents (plain dicts) that then go
through exactly the same validation as any other event. The first event is the record's primary
one: the record is accepted on that event's topic.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

CloudEvent = dict[str, Any]


class OcsfError(ValueError):
    """The record is OCSF but cannot be mapped; the message says why."""


# OCSF severity_id -> the one severity scale.
SEVERITY: Final = {
    0: "info",
    1: "info",
    2: "low",
    3: "medium",
    4: "high",
    5: "critical",
    6: "critical",
    99: "info",
}
_PROVIDERS: Final = {
    "aws": "aws",
    "azure": "azure",
    "gcp": "gcp",
    "google": "gcp",
    "kubernetes": "kubernetes",
}
# OCSF auth factor_type_id -> the contract's factor types.
_FACTORS: Final = {
    1: "sms",
    3: "voice",
    5: "push",
    6: "smartcard",
    7: "totp",
    8: "email",
    9: "fido2",
    10: "webauthn",
}
# OCSF os.type_id -> os_family; device.type_id -> kind.
_OS: Final = {100: "windows", 300: "linux", 301: "android", 400: "macos", 401: "ios", 402: "ios"}
_KINDS: Final = {1: "server", 2: "endpoint", 3: "endpoint", 4: "endpoint", 5: "endpoint", 6: "cloud_instance"}


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


# OCSF says `time` counts milliseconds; Prowler writes seconds. Below this an epoch is read as seconds:
# 1e11 s is the year 5138 and 1e11 ms is 1973, and events before 2000 are refused either way.
_SECONDS_BELOW: Final = 10**11


def _time(record: dict[str, Any], field: str = "time") -> str:
    """An OCSF time as RFC 3339 with an offset.

    In order: `<field>_dt` with an offset; else the epoch `<field>` (milliseconds, or seconds as Prowler
    writes them); else an offset-less `<field>_dt` read as UTC. Prowler writes `time_dt` in the local
    time of the machine that ran it, without an offset, next to an exact epoch `time`.
    """
    dt = record.get(f"{field}_dt")
    text = dt if isinstance(dt, str) else ""
    parsed = _iso(text) if text else None
    if parsed is not None and parsed.tzinfo is not None:
        return text  # as written: the event id carries it, so a replay keeps its id
    epoch = record.get(field)
    if isinstance(epoch, int | float) and not isinstance(epoch, bool):
        seconds = epoch if abs(epoch) < _SECONDS_BELOW else epoch / 1000
        try:
            return datetime.fromtimestamp(seconds, tz=UTC).isoformat()
        except (OverflowError, OSError, ValueError) as exc:
            raise OcsfError(f"`{field}` {epoch!r} is not a usable epoch time") from exc
    if parsed is not None:
        return parsed.replace(tzinfo=UTC).isoformat()
    raise OcsfError(f"no usable `{field}` (epoch milliseconds) or `{field}_dt` (RFC 3339)")


def _iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _source(record: dict[str, Any]) -> str:
    product = _get(record, "metadata", "product") or {}
    parts = [str(product.get(k)).strip().lower() for k in ("vendor_name", "name") if product.get(k)]
    if not parts:
        raise OcsfError("metadata.product names no vendor_name or name: the source is unknown")
    return "/".join(parts)


def _uid(record: dict[str, Any]) -> str:
    uid = _get(record, "metadata", "uid") or _get(record, "finding_info", "uid")
    if not uid:
        raise OcsfError("neither metadata.uid nor finding_info.uid identifies the record")
    return str(uid)


def _severity(record: dict[str, Any]) -> str:
    sid = record.get("severity_id")
    if sid not in SEVERITY:
        raise OcsfError(f"severity_id {sid!r} is not an OCSF severity")
    return SEVERITY[sid]


def _event(
    record: dict[str, Any], type_: str, data: dict[str, Any], *, time: str, part: str = ""
) -> CloudEvent:
    # The id carries the event time (the same finding is re-reported over time) and, when one record
    # yields several events, which part of the record this event is.
    suffix = f"#{part}" if part else ""
    return {
        "specversion": "1.0",
        "id": f"{_uid(record)}@{time}{suffix}",
        "source": _source(record),
        "type": type_,
        "time": time,
        "data": {k: v for k, v in data.items() if v is not None},
    }


def _resources(record: dict[str, Any]) -> list[dict[str, Any]]:
    resources = [r for r in record.get("resources") or [] if isinstance(r, dict) and r.get("uid")]
    if not resources:
        raise OcsfError("no resources[].uid to evaluate")
    return resources


def _cloud_checks(record: dict[str, Any], status: str) -> list[CloudEvent]:
    control = _get(record, "metadata", "event_code") or _get(record, "compliance", "control")
    if not control:
        raise OcsfError("no control id (metadata.event_code or compliance.control)")
    provider = str(_get(record, "cloud", "provider") or "").lower()
    time = _time(record)
    return [
        _event(
            record,
            "cloud.evaluated",
            {
                "resource_id": r["uid"],
                "control_id": str(control),
                "status": status,
                "severity": _severity(record),
                "provider": _PROVIDERS.get(provider, "other"),
                "account": _get(record, "cloud", "account", "uid"),
                "region": r.get("region") or _get(record, "cloud", "region"),
            },
            time=time,
            part=str(r["uid"]),
        )
        for r in _resources(record)
    ]


def _detection(record: dict[str, Any]) -> list[CloudEvent]:
    if record.get("status_id") == 3:  # Suppressed: Prowler's muted findings
        return _cloud_checks(record, "muted")
    code = str(record.get("status_code") or "").upper()
    if code not in ("PASS", "FAIL"):
        raise OcsfError(f"status_code {code or None!r} is neither PASS nor FAIL")
    return _cloud_checks(record, code.lower())


def _compliance(record: dict[str, Any]) -> list[CloudEvent]:
    status = {1: "pass", 3: "fail"}.get(_get(record, "compliance", "status_id"))
    if record.get("status_id") == 3:
        status = "muted"
    if status is None:
        raise OcsfError("compliance.status_id must be 1 (pass) or 3 (fail)")
    return _cloud_checks(record, status)


def _vulnerability(record: dict[str, Any]) -> list[CloudEvent]:
    asset = _get(record, "device", "uid") or _get(record, "resource", "uid")
    if not asset:
        raise OcsfError("no device.uid for the affected asset")
    cves = [_get(v, "cve", "uid") for v in record.get("vulnerabilities") or []]
    cves = [c for c in cves if c]
    if not cves:
        raise OcsfError("no vulnerabilities[].cve.uid")
    resolved = record.get("status_id") == 4
    type_ = "vulnerability.remediated" if resolved else "vulnerability.detected"
    time = _time(record)
    return [
        _event(
            record,
            type_,
            {
                "asset_id": str(asset),
                "vulnerability_id": str(cve),
                "severity": None if resolved else _severity(record),
            },
            time=time,
            part=str(cve),
        )
        for cve in cves
    ]


def _incident(record: dict[str, Any]) -> list[CloudEvent]:
    incident = _get(record, "finding_info", "uid")
    if not incident:
        raise OcsfError("no finding_info.uid for the incident")
    data = {
        "incident_id": str(incident),
        "severity": _severity(record),
        "title": _get(record, "finding_info", "title"),
    }
    opened = (
        _time(record, "start_time")
        if record.get("start_time") or record.get("start_time_dt")
        else _time(record)
    )
    out = [_event(record, "incident.opened", data, time=opened, part="opened")]
    status = record.get("status_id")
    if status in (2, 3):
        out.append(_event(record, "incident.acknowledged", data, time=_time(record), part="acknowledged"))
    elif status in (4, 5):
        closed = (
            _time(record, "end_time")
            if record.get("end_time") or record.get("end_time_dt")
            else _time(record)
        )
        out.append(_event(record, "incident.resolved", data, time=closed, part="resolved"))
    return out


def _account_change(record: dict[str, Any]) -> list[CloudEvent]:
    activity = record.get("activity_id")
    if activity not in (10, 11):
        raise OcsfError(f"account change activity_id {activity!r} is not MFA enable (10) or disable (11)")
    user = _get(record, "user", "uid")
    if not user:
        raise OcsfError("no user.uid")
    factor = (record.get("auth_factors") or [{}])[0] if isinstance(record.get("auth_factors"), list) else {}
    factor_type = _FACTORS.get(_get(factor, "factor_type_id"), "other")
    time = _time(record)
    observed = _event(
        record,
        "identity.observed",
        {"user_id": str(user), "privileged": _get(record, "user", "type_id") == 2},
        time=time,
        part="identity",
    )
    mfa = _event(
        record,
        "mfa.enrolled" if activity == 10 else "mfa.removed",
        {"user_id": str(user), "factor_type": factor_type, "factor_id": _get(factor, "uid")},
        time=time,
        part="mfa",
    )
    return [mfa, observed]


def _inventory(record: dict[str, Any]) -> list[CloudEvent]:
    device = record.get("device") or {}
    if not isinstance(device, dict) or not device.get("uid"):
        raise OcsfError("no device.uid")
    asset = str(device["uid"])
    time = _time(record)
    out = [
        _event(
            record,
            "asset.observed",
            {
                "asset_id": asset,
                "hostname": device.get("hostname"),
                "kind": _KINDS.get(int(device.get("type_id") or 0), "other"),
                "os_family": _OS.get(_get(device, "os", "type_id"), "other"),
                "business_unit": _get(device, "org", "ou_name") or None,
            },
            time=time,
            part="asset",
        )
    ]
    for agent in record.get("agent_list") or []:
        if isinstance(agent, dict) and agent.get("type_id") == 1:  # an EDR agent
            out.append(
                _event(
                    record,
                    "edr.heartbeat",
                    {"asset_id": asset, "sensor_id": agent.get("uid"), "vendor": agent.get("vendor_name")},
                    time=time,
                    part="edr",
                )
            )
    return out


MAPPERS: Final[dict[int, Callable[[dict[str, Any]], list[CloudEvent]]]] = {
    2002: _vulnerability,
    2003: _compliance,
    2004: _detection,
    2005: _incident,
    3001: _account_change,
    5001: _inventory,
}


def is_ocsf(obj: object) -> bool:
    """A JSON object with class_uid and no specversion is an OCSF record."""
    return isinstance(obj, dict) and "class_uid" in obj and "specversion" not in obj


def to_cloudevents(record: dict[str, Any]) -> list[CloudEvent]:
    """The CloudEvents one OCSF record stands for (primary first); OcsfError when it cannot be mapped."""
    mapper = MAPPERS.get(record.get("class_uid"))  # type: ignore[arg-type]
    if mapper is None:
        raise OcsfError(f"OCSF class_uid {record.get('class_uid')!r} is not one Trustline maps")
    return mapper(record)
