"""Assets: attributes of the latest observation; retired when retired last."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from trustline.shared.events.schemas import AssetObserved, AssetRetired

from ..tables import ASSETS, Record
from .core import StoredEvent
from .protocol import VersionsFold, fold_all


@dataclass(frozen=True, slots=True)
class AssetState:
    """An asset as the inventory knows it; last_seen is the latest observation (None: never observed)."""

    hostname: str | None
    kind: str
    os_family: str
    business_unit: str
    environment: str
    edr_required: bool
    retired: bool
    last_seen: datetime | None


UNKNOWN_ASSET = AssetState(None, "other", "other", "unassigned", "other", False, False, None)


def step(state: AssetState | None, ev: StoredEvent) -> AssetState | None:
    """The state after one event."""
    d = ev.data
    if isinstance(d, AssetObserved):
        return AssetState(
            d.hostname,
            d.kind,
            d.os_family,
            d.business_unit,
            d.environment,
            bool(d.edr_required),
            retired=False,
            last_seen=ev.time,
        )
    if isinstance(d, AssetRetired):
        return replace(state or UNKNOWN_ASSET, retired=True)
    return state


FOLD = VersionsFold(ASSETS, AssetState, step)


def fold_asset(asset_id: str, events: Sequence[StoredEvent]) -> list[Record]:
    """Rows of asset_versions for one asset."""
    return fold_all(FOLD, (asset_id,), events)
