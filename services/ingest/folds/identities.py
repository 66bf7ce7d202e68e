"""Identities and their MFA factors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from trustline.shared.events.schemas import IdentityDeactivated, IdentityObserved, MfaEvent

from ..tables import FACTORS, IDENTITIES, Record
from .core import StoredEvent
from .protocol import VersionsFold, fold_all


@dataclass(frozen=True, slots=True)
class IdentityState:
    """Attributes of the latest observation; inactive when deactivated last."""

    privileged: bool
    business_unit: str
    active: bool


@dataclass(frozen=True, slots=True)
class FactorState:
    """One MFA factor: enrolled or removed by its latest event."""

    factor_type: str
    enrolled: bool


def _identity_step(state: IdentityState | None, ev: StoredEvent) -> IdentityState | None:
    d = ev.data
    if isinstance(d, IdentityObserved):
        return IdentityState(d.privileged, d.business_unit, active=True)
    if isinstance(d, IdentityDeactivated):
        return replace(state or IdentityState(False, "unassigned", True), active=False)
    return state


def _factor_step(state: FactorState | None, ev: StoredEvent) -> FactorState | None:
    d = ev.data
    if not isinstance(d, MfaEvent):
        return state
    return FactorState(d.factor_type, enrolled=ev.type == "mfa.enrolled")


def factor_key(d: MfaEvent) -> str:
    """A factor is identified by its id, or by its type when the tool sends no id."""
    return d.factor_id or d.factor_type


def _factor_of(ev: StoredEvent) -> str | None:
    return factor_key(ev.data) if isinstance(ev.data, MfaEvent) else None


IDENTITY_FOLD = VersionsFold(IDENTITIES, IdentityState, _identity_step)
FACTOR_FOLD = VersionsFold(FACTORS, FactorState, _factor_step, part=_factor_of)


def fold_identity(user_id: str, events: Sequence[StoredEvent]) -> tuple[list[Record], list[Record]]:
    """Rows of identity_versions and of mfa_factor_versions for one user."""
    return fold_all(IDENTITY_FOLD, (user_id,), events), fold_all(FACTOR_FOLD, (user_id,), events)
