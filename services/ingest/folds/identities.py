"""Identities and their MFA factors."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from trustline.shared.events.schemas import IdentityDeactivated, IdentityObserved, MfaEvent

from .core import StoredEvent, versions


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


def fold_identity(
    user_id: str, events: Iterable[StoredEvent]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows of identity_versions and of mfa_factor_versions for one user."""
    events = list(events)
    identity = [
        (user_id, v.valid_from, v.valid_to, v.state.privileged, v.state.business_unit, v.state.active)
        for v in versions(events, _identity_step)
    ]
    by_factor: dict[str, list[StoredEvent]] = defaultdict(list)
    for ev in events:
        if isinstance(ev.data, MfaEvent):
            by_factor[factor_key(ev.data)].append(ev)
    factors = [
        (user_id, key, v.valid_from, v.valid_to, v.state.factor_type, v.state.enrolled)
        for key in sorted(by_factor)
        for v in versions(by_factor[key], _factor_step)
    ]
    return identity, factors
