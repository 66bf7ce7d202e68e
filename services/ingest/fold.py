"""State as a pure fold over event time: the same events give the same state in any arrival order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from trustline.shared.events.schemas import (
    AssetObserved,
    AssetRetired,
    VulnerabilityDetected,
    VulnerabilityRemediated,
    _Data,
)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """What a fold needs of a stored event."""

    time: datetime
    source: str
    id: str
    data: _Data


def in_fold_order(events: Iterable[StoredEvent]) -> list[StoredEvent]:
    """Events sorted by (time, source, id): the contract's total order."""
    return sorted(events, key=lambda e: (e.time, e.source, e.id))


@dataclass(frozen=True, slots=True)
class AssetVersion:
    """An asset's state over [valid_from, valid_to)."""

    asset_id: str
    valid_from: datetime
    valid_to: datetime | None
    hostname: str | None
    kind: str
    os_family: str
    business_unit: str
    environment: str
    edr_required: bool
    retired: bool


def _versions_append(versions: list[AssetVersion], new: AssetVersion) -> None:
    if versions and versions[-1].valid_from == new.valid_from:
        versions[-1] = new  # several events at one instant: only the last state is observable
        return
    if versions:
        versions[-1] = replace(versions[-1], valid_to=new.valid_from)
    versions.append(new)


def _same_state(a: AssetVersion, b: AssetVersion) -> bool:
    return replace(a, valid_from=b.valid_from, valid_to=b.valid_to) == b


def fold_asset(asset_id: str, events: Iterable[StoredEvent]) -> list[AssetVersion]:
    """Versions of one asset: attributes of the latest observation, retired if retired last."""
    versions: list[AssetVersion] = []
    for ev in in_fold_order(events):
        prev = versions[-1] if versions else None
        if isinstance(ev.data, AssetObserved):
            d = ev.data
            new = AssetVersion(
                asset_id,
                ev.time,
                None,
                d.hostname,
                d.kind,
                d.os_family,
                d.business_unit,
                d.environment,
                bool(d.edr_required),
                retired=False,
            )
        elif isinstance(ev.data, AssetRetired):
            base = prev or AssetVersion(
                asset_id,
                ev.time,
                None,
                None,
                "other",
                "other",
                "unassigned",
                "other",
                edr_required=False,
                retired=True,
            )
            new = replace(base, valid_from=ev.time, valid_to=None, retired=True)
        else:
            continue
        if prev is None or not _same_state(prev, new):
            _versions_append(versions, new)
    return versions


@dataclass(frozen=True, slots=True)
class CycleVersion:
    """A vulnerability cycle with the severity it had over [valid_from, valid_to)."""

    asset_id: str
    vulnerability_id: str
    cycle: int
    detected_at: datetime
    remediated_at: datetime | None
    severity: str
    kev: bool
    valid_from: datetime
    valid_to: datetime | None


@dataclass(slots=True)
class _OpenCycle:
    number: int
    detected_at: datetime
    # (from, severity, kev) each time the severity or KEV flag changed
    marks: list[tuple[datetime, str, bool]]


def _close(asset_id: str, vuln_id: str, c: _OpenCycle, remediated_at: datetime | None) -> list[CycleVersion]:
    out = []
    for i, (start, severity, kev) in enumerate(c.marks):
        end = c.marks[i + 1][0] if i + 1 < len(c.marks) else None
        out.append(
            CycleVersion(asset_id, vuln_id, c.number, c.detected_at, remediated_at, severity, kev, start, end)
        )
    return out


def fold_vulnerability(asset_id: str, vuln_id: str, events: Iterable[StoredEvent]) -> list[CycleVersion]:
    """Cycles of one (asset, vulnerability): re-detection never restarts the clock."""
    out: list[CycleVersion] = []
    open_: _OpenCycle | None = None
    cycles = 0
    for ev in in_fold_order(events):
        d = ev.data
        if isinstance(d, VulnerabilityDetected):
            if open_ is None:
                open_ = _OpenCycle(cycles, ev.time, [(ev.time, d.severity, d.kev)])
                cycles += 1
            elif (d.severity, d.kev) != open_.marks[-1][1:]:
                if open_.marks[-1][0] == ev.time:
                    open_.marks[-1] = (ev.time, d.severity, d.kev)
                else:
                    open_.marks.append((ev.time, d.severity, d.kev))
        elif isinstance(d, VulnerabilityRemediated) and open_ is not None:
            out.extend(_close(asset_id, vuln_id, open_, ev.time))
            open_ = None
    if open_ is not None:
        out.extend(_close(asset_id, vuln_id, open_, None))
    return out
