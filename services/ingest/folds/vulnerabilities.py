"""Vulnerability cycles: detected opens, remediated closes, re-detection never restarts the clock."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from trustline.shared.events.schemas import VulnerabilityDetected, VulnerabilityRemediated

from ..tables import CYCLES
from .core import StoredEvent, in_fold_order, values
from .protocol import Events, Key, Row, Start, Written


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


_row = CYCLES.shape(tuple(f.name for f in fields(CycleVersion)))


def _cycles(
    asset_id: str, vuln_id: str, events: Iterable[StoredEvent], open_: _OpenCycle | None, cycles: int
) -> list[CycleVersion]:
    """Fold events in contract order from a state: the cycle open (if any) and how many cycles began."""
    out: list[CycleVersion] = []
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


def fold_vulnerability(asset_id: str, vuln_id: str, events: Iterable[StoredEvent]) -> list[CycleVersion]:
    """Cycles of one (asset, vulnerability): re-detection never restarts the clock."""
    return _cycles(asset_id, vuln_id, events, None, 0)


class CycleFold:
    """vuln_cycle_versions, resumed from the cycle that began last before the cutoff.

    The events before the cutoff fixed every cycle they closed and, for a cycle still open at the cutoff,
    its detection and its severity versions so far: that cycle is where the fold resumes. Only its
    remediation may still change, and every one of its versions carries it, so when it changes the
    cycle is written again whole; otherwise its versions stand and only the last one's valid_to moves.
    """

    table = CYCLES
    start = Start.LATEST_PART

    def resume(self, key: Key, start: Sequence[Row], cutoff: datetime, events: Events, out: Written) -> None:
        """New cycle versions from the cutoff on (see the class)."""
        asset_id, vuln_id = key
        marks = sorted(start, key=lambda r: r["valid_from"])
        last = marks[-1] if marks else None
        if last is None or (last["remediated_at"] is not None and last["remediated_at"] < cutoff):
            # Nothing began before the cutoff, or what began last was closed before it: those cycles stand.
            begun = 0 if last is None else last["cycle"] + 1
            out.rows.extend(_row(values(v)) for v in _cycles(asset_id, vuln_id, events, None, begun))
            return
        open_ = _OpenCycle(
            last["cycle"], last["detected_at"], [(r["valid_from"], r["severity"], r["kev"]) for r in marks]
        )
        new = _cycles(asset_id, vuln_id, events, open_, open_.number + 1)
        again = [v for v in new if v.cycle == open_.number]
        if again[0].remediated_at != last["remediated_at"]:
            out.replaced.append((*key, open_.number))
            out.rows.extend(_row(values(v)) for v in new)
            return
        stored = {r["valid_from"]: r["valid_to"] for r in marks}
        out.rows.extend(_row(values(v)) for v in new if v.cycle != open_.number or v.valid_from >= cutoff)
        out.closes.extend(
            (*key, v.cycle, v.valid_from, v.valid_to)
            for v in again
            if v.valid_from in stored and v.valid_to != stored[v.valid_from]
        )
