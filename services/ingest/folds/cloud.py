"""Cloud configuration checks: the latest evaluation of each (resource, control)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from trustline.shared.events.schemas import CloudEvaluated

from ..tables import CHECKS, Record
from .core import StoredEvent
from .protocol import VersionsFold, fold_all


@dataclass(frozen=True, slots=True)
class CheckState:
    """The latest evaluation; stale at T when evaluated_at is older than the policy allows."""

    status: str
    severity: str
    provider: str
    account: str | None
    region: str | None
    framework: str | None
    evaluated_at: datetime


def step(state: CheckState | None, ev: StoredEvent) -> CheckState | None:
    """The state after one event."""
    d = ev.data
    if not isinstance(d, CloudEvaluated):
        return state
    return CheckState(d.status, d.severity, d.provider, d.account, d.region, d.framework, ev.time)


FOLD = VersionsFold(CHECKS, CheckState, step)


def fold_check(resource_id: str, control_id: str, events: Sequence[StoredEvent]) -> list[Record]:
    """Rows of cloud_check_versions for one (resource, control)."""
    return fold_all(FOLD, (resource_id, control_id), events)
