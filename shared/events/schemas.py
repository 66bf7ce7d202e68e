"""Typed `data` payloads per event type, with the contract's defaults."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal

import msgspec

from ..severity import Severity

# Identifiers never hold control characters: they become keys and labels, and NUL cannot be stored.
NO_CONTROL = r"^[^\x00-\x1f\x7f]+$"
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=512, pattern=NO_CONTROL)]
Text = Annotated[str, msgspec.Meta(max_length=1024)]
Slug = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=NO_CONTROL)]
AssetKind = Literal["endpoint", "server", "cloud_instance", "network", "other"]
OsFamily = Literal["windows", "macos", "linux", "ios", "android", "other"]
Environment = Literal["prod", "staging", "dev", "other"]
FactorType = Literal[
    "webauthn", "fido2", "piv", "smartcard", "totp", "push", "sms", "voice", "email", "other"
]
CheckStatus = Literal["pass", "fail", "muted"]
Provider = Literal["aws", "azure", "gcp", "kubernetes", "other"]


class _Data(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=False):
    """Base of every payload: unknown extra fields are ignored (forward compatible)."""


class AssetObserved(_Data, frozen=True):
    asset_id: Id
    hostname: Text | None = None
    kind: AssetKind = "other"
    os_family: OsFamily = "other"
    business_unit: Slug = "unassigned"
    environment: Environment = "other"
    # None means "not given": resolved from kind by `normalise`.
    edr_required: bool | None = None


class AssetRetired(_Data, frozen=True):
    asset_id: Id


class VulnerabilityDetected(_Data, frozen=True):
    asset_id: Id
    vulnerability_id: Id
    severity: Severity
    kev: bool = False


class VulnerabilityRemediated(_Data, frozen=True):
    asset_id: Id
    vulnerability_id: Id
    patch_id: Text | None = None
    kev: bool | None = None


class EdrEvent(_Data, frozen=True):
    asset_id: Id
    sensor_id: Text | None = None
    vendor: Text | None = None
    healthy: bool = True


class IdentityObserved(_Data, frozen=True):
    user_id: Id
    privileged: bool = False
    business_unit: Slug = "unassigned"


class IdentityDeactivated(_Data, frozen=True):
    user_id: Id


class MfaEvent(_Data, frozen=True):
    user_id: Id
    factor_type: FactorType
    factor_id: Text | None = None


class CloudEvaluated(_Data, frozen=True):
    resource_id: Id
    control_id: Id
    status: CheckStatus
    severity: Severity
    provider: Provider = "other"
    account: Text | None = None
    region: Text | None = None
    framework: Text | None = None


class IncidentEvent(_Data, frozen=True):
    incident_id: Id
    severity: Severity | None = None
    title: Text | None = None
    commander: Text | None = None


DATA_TYPES: Final[dict[str, type[_Data]]] = {
    "asset.observed": AssetObserved,
    "asset.retired": AssetRetired,
    "vulnerability.detected": VulnerabilityDetected,
    "vulnerability.remediated": VulnerabilityRemediated,
    "edr.heartbeat": EdrEvent,
    "edr.uninstalled": EdrEvent,
    "identity.observed": IdentityObserved,
    "identity.deactivated": IdentityDeactivated,
    "mfa.enrolled": MfaEvent,
    "mfa.removed": MfaEvent,
    "cloud.evaluated": CloudEvaluated,
    "incident.opened": IncidentEvent,
    "incident.acknowledged": IncidentEvent,
    "incident.contained": IncidentEvent,
    "incident.restored": IncidentEvent,
    "incident.resolved": IncidentEvent,
}

KEY_SEP: Final = "\x1f"


def normalise(data: _Data) -> _Data:
    """Apply defaults that depend on other fields."""
    if isinstance(data, AssetObserved) and data.edr_required is None:
        return msgspec.structs.replace(data, edr_required=data.kind in ("endpoint", "server"))
    return data


def entity(data: _Data) -> tuple[str, str]:
    """The (domain, key) whose state this event folds into."""
    match data:
        case AssetObserved() | AssetRetired():
            return "asset", data.asset_id
        case VulnerabilityDetected() | VulnerabilityRemediated():
            return "vulnerability", data.asset_id + KEY_SEP + data.vulnerability_id
        case EdrEvent():
            return "edr", data.asset_id
        case IdentityObserved() | IdentityDeactivated() | MfaEvent():
            return "identity", data.user_id
        case CloudEvaluated():
            return "cloud", data.resource_id + KEY_SEP + data.control_id
        case IncidentEvent():
            return "incident", data.incident_id
    raise TypeError(f"no entity for {type(data).__name__}")


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """One validated event: the CloudEvents attributes and its typed payload."""

    source: str
    id: str
    type: str
    topic: str
    time: datetime
    subject: str | None
    data: _Data
    # Who delivered it: `http:<key principal>` for HTTP ingest, `kafka:<topic>` for a Kafka producer.
    submitted_by: str | None = None

    @property
    def domain_key(self) -> tuple[str, str]:
        """The (domain, key) of the entity this event belongs to."""
        return entity(self.data)
