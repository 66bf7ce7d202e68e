"""Incidents: the earliest time of each stage and the latest severity given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from trustline.shared.events.schemas import IncidentEvent

from ..tables import INCIDENTS, Record
from .core import StoredEvent
from .protocol import VersionsFold, fold_all

STAGES = ("opened", "acknowledged", "contained", "restored", "resolved")


@dataclass(frozen=True, slots=True)
class IncidentState:
    """Stage times (None until reached) and severity (None until one is given)."""

    severity: str | None
    opened_at: datetime | None = None
    acknowledged_at: datetime | None = None
    contained_at: datetime | None = None
    restored_at: datetime | None = None
    resolved_at: datetime | None = None


def step(state: IncidentState | None, ev: StoredEvent) -> IncidentState | None:
    """The state after one event."""
    d = ev.data
    if not isinstance(d, IncidentEvent):
        return state
    base = state or IncidentState(None)
    stage = ev.type.removeprefix("incident.")
    field = f"{stage}_at"
    # Events come in time order, so the first one of a stage is its earliest.
    new = base if getattr(base, field) is not None else replace(base, **{field: ev.time})  # type: ignore[arg-type]
    return replace(new, severity=d.severity) if d.severity is not None else new


FOLD = VersionsFold(INCIDENTS, IncidentState, step)


def fold_incident(incident_id: str, events: Sequence[StoredEvent]) -> list[Record]:
    """Rows of incident_versions for one incident."""
    return fold_all(FOLD, (incident_id,), events)
