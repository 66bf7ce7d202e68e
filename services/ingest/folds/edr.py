"""EDR: the latest healthy heartbeat and the latest uninstall, per asset."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from trustline.shared.events.schemas import EdrEvent

from ..tables import EDR, Record
from .core import StoredEvent
from .protocol import VersionsFold, fold_all


@dataclass(frozen=True, slots=True)
class EdrState:
    """Covered at T when last_healthy_at is recent enough and no uninstall came after it."""

    last_healthy_at: datetime | None
    uninstalled_at: datetime | None


def step(state: EdrState | None, ev: StoredEvent) -> EdrState | None:
    """The state after one event."""
    d = ev.data
    if not isinstance(d, EdrEvent):
        return state
    base = state or EdrState(None, None)
    if ev.type == "edr.uninstalled":
        return replace(base, uninstalled_at=ev.time)
    # An unhealthy heartbeat proves a sensor exists but covers nothing.
    return replace(base, last_healthy_at=ev.time) if d.healthy else state


FOLD = VersionsFold(EDR, EdrState, step)


def fold_edr(asset_id: str, events: Sequence[StoredEvent]) -> list[Record]:
    """Rows of edr_versions for one asset."""
    return fold_all(FOLD, (asset_id,), events)
