"""Vulnerability cycles: detected opens, remediated closes, re-detection never restarts the clock."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from trustline.shared.events.schemas import VulnerabilityDetected, VulnerabilityRemediated

from .core import StoredEvent, in_fold_order


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
