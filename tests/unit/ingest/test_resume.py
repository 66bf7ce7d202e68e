"""Resuming a fold from the rows stored before the earliest new event gives exactly the full fold.

A model of the store, in memory: the rows of the events stored so far, the starting rows each table
asks for (folds/protocol.py `Start`), and what the fold writes applied as the store applies it (rows
from the cutoff on and replaced parts deleted, starting rows closed, new rows added). The integration
test tests/integration/ingest/test_resume.py runs the same comparison against PostgreSQL.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from trustline.ingest.domains import DOMAINS
from trustline.ingest.folds.core import StoredEvent
from trustline.ingest.folds.protocol import Start, TableFold, Written, fold_all
from trustline.shared.events.schemas import DATA_TYPES, normalise

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_ids = itertools.count()
Row = dict[str, Any]


def ev(hours: int, type_: str, source: str = "s1", **data: Any) -> StoredEvent:
    payload = normalise(msgspec.convert(data, DATA_TYPES[type_]))
    return StoredEvent(T0 + timedelta(hours=hours), source, f"{next(_ids):06d}", type_, payload)


def _part(fold: TableFold, row: Row) -> tuple[Any, ...]:
    return tuple(row[c] for c in fold.table.part_columns)


def _stored(fold: TableFold, key: Sequence[str], events: Sequence[StoredEvent]) -> list[Row]:
    return [dict(zip(fold.table.columns, r, strict=True)) for r in fold_all(fold, key, events)]


def starting_rows(fold: TableFold, rows: list[Row], cutoff: datetime) -> list[Row]:
    """What the store's starting-rows query selects for one entity."""
    before = sorted((r for r in rows if r["valid_from"] < cutoff), key=lambda r: r["valid_from"])
    if fold.start is Start.LATEST_PART:
        latest = max((_part(fold, r) for r in before), default=None)
        return [r for r in before if _part(fold, r) == latest]
    return list({_part(fold, r): r for r in before}.values())


def resumed(fold: TableFold, key: Sequence[str], old: list[StoredEvent], new: list[StoredEvent]) -> list[Row]:
    """The rows after storing `new` on top of `old`, through the resume path."""
    rows = _stored(fold, key, old)
    cutoff = min(e.time for e in new)
    since = [e for e in [*old, *new] if e.time >= cutoff]
    written = Written()
    fold.resume(tuple(key), starting_rows(fold, rows, cutoff), cutoff, since, written)
    width = len(key)
    assert all(r[:width] == tuple(key) for r in [*written.replaced, *written.closes])
    replaced = {r[width:] for r in written.replaced}
    kept = [dict(r) for r in rows if r["valid_from"] < cutoff and _part(fold, r) not in replaced]
    for *part, valid_from, valid_to in (c[width:] for c in written.closes):
        [row] = [r for r in kept if _part(fold, r) == tuple(part) and r["valid_from"] == valid_from]
        row["valid_to"] = valid_to
    kept += [dict(zip(fold.table.columns, r, strict=True)) for r in written.rows]
    return kept


def _sorted(rows: list[Row]) -> list[tuple[Any, ...]]:
    return sorted(tuple(r.values()) for r in rows)


def check(domain: str, key: Sequence[str], events: list[StoredEvent], new: list[bool]) -> None:
    """Split `events` into stored and new (new[i]); the resumed state is the fold of all of them."""
    later = [e for e, n in zip(events, new, strict=False) if n] or events[-1:]
    old = [e for e in events if e not in later]
    for fold in DOMAINS[domain].folds:
        assert _sorted(resumed(fold, key, old, later)) == _sorted(_stored(fold, key, events))


V = {"asset_id": "a", "vulnerability_id": "v"}
U = {"user_id": "u"}
hours = st.integers(0, 9)  # few instants: events often share one, so (source, id) decides their order
sources = st.sampled_from(["s1", "s2"])
severities = st.sampled_from(["high", "low"])
split = st.lists(st.booleans(), max_size=14)
# The same id for two types, and a type used with and without an id: keys by id first, then by type.
FACTORS = [("totp", None), ("fido2", "k1"), ("webauthn", "k1"), ("fido2", None)]


@st.composite
def vulnerability_events(draw: st.DrawFn) -> list[StoredEvent]:
    out = []
    for _ in range(draw(st.integers(1, 14))):
        at, source = draw(hours), draw(sources)
        if draw(st.booleans()):
            sev, kev = draw(severities), draw(st.booleans())
            out.append(ev(at, "vulnerability.detected", source, **V, severity=sev, kev=kev))
        else:
            out.append(ev(at, "vulnerability.remediated", source, **V))
    return out


@st.composite
def identity_events(draw: st.DrawFn) -> list[StoredEvent]:
    out = []
    for _ in range(draw(st.integers(1, 14))):
        at, source = draw(hours), draw(sources)
        kind = draw(
            st.sampled_from(["identity.observed", "identity.deactivated", "mfa.enrolled", "mfa.removed"])
        )
        if kind == "identity.observed":
            out.append(ev(at, kind, source, **U, privileged=draw(st.booleans())))
        elif kind == "identity.deactivated":
            out.append(ev(at, kind, source, **U))
        else:
            factor_type, factor_id = draw(st.sampled_from(FACTORS))
            out.append(ev(at, kind, source, **U, factor_type=factor_type, factor_id=factor_id))
    return out


@given(vulnerability_events(), split)
@example(  # a late detection inside an old, closed cycle: it changes that cycle's severity versions
    [ev(0, "vulnerability.detected", **V, severity="low"), ev(4, "vulnerability.remediated", **V),
     ev(6, "vulnerability.detected", **V, severity="low"), ev(2, "vulnerability.detected", **V, severity="high")],
    [False, False, False, True],
)  # fmt: skip
@example(  # a late remediation inside the open cycle: every version before the cutoff gets it
    [ev(0, "vulnerability.detected", **V, severity="low"), ev(4, "vulnerability.detected", **V, severity="high"),
     ev(8, "vulnerability.detected", **V, severity="low"), ev(6, "vulnerability.remediated", **V)],
    [False, False, False, True],
)  # fmt: skip
@example(  # a remediation before the first detection changes nothing
    [ev(3, "vulnerability.detected", **V, severity="low"), ev(1, "vulnerability.remediated", **V)],
    [False, True],
)  # fmt: skip
@example(  # closed and reopened at one instant, the late event between them by (source, id)
    [ev(0, "vulnerability.detected", "s1", **V, severity="low"), ev(5, "vulnerability.remediated", "s1", **V),
     ev(5, "vulnerability.detected", "s2", **V, severity="high"), ev(5, "vulnerability.detected", "s1", **V, severity="high")],
    [False, False, False, True],
)  # fmt: skip
def test_vulnerability_cycles_resume_as_a_full_fold(events: list[StoredEvent], new: list[bool]) -> None:
    check("vulnerability", ("a", "v"), events, new)


@given(identity_events(), split)
@example(  # a factor removed, then re-enrolled: the enrolment arrives first, the removal late
    [ev(0, "identity.observed", **U), ev(5, "mfa.enrolled", **U, factor_type="totp"),
     ev(3, "mfa.removed", **U, factor_type="totp")],
    [False, False, True],
)  # fmt: skip
@example(  # an enrolment older than every stored row of the user
    [ev(4, "identity.observed", **U), ev(6, "mfa.enrolled", **U, factor_type="fido2", factor_id="k1"),
     ev(1, "mfa.enrolled", **U, factor_type="totp")],
    [False, False, True],
)  # fmt: skip
def test_identities_and_factors_resume_as_a_full_fold(events: list[StoredEvent], new: list[bool]) -> None:
    check("identity", ("u",), events, new)


@st.composite
def other_events(draw: st.DrawFn, domain: str) -> list[StoredEvent]:
    kinds = {
        "asset": [("asset.observed", {"asset_id": "a", "business_unit": "bu"}), ("asset.retired", {"asset_id": "a"})],
        "edr": [("edr.heartbeat", {"asset_id": "a"}), ("edr.heartbeat", {"asset_id": "a", "healthy": False}),
                ("edr.uninstalled", {"asset_id": "a"})],
        "cloud": [("cloud.evaluated", {"resource_id": "r", "control_id": "c", "status": s, "severity": "low"})
                  for s in ("pass", "fail")],
        "incident": [(f"incident.{stage}", {"incident_id": "i", "severity": sev})
                     for stage in ("opened", "acknowledged", "resolved") for sev in ("high", None)],
    }[domain]  # fmt: skip
    picks = draw(st.lists(st.tuples(hours, sources, st.sampled_from(kinds)), min_size=1, max_size=12))
    return [ev(at, kind, source, **data) for at, source, (kind, data) in picks]


@pytest.mark.parametrize(
    ("domain", "key"), [("asset", ("a",)), ("edr", ("a",)), ("cloud", ("r", "c")), ("incident", ("i",))]
)
@given(data=st.data())
def test_every_other_domain_resumes_as_a_full_fold(
    domain: str, key: tuple[str, ...], data: st.DataObject
) -> None:
    check(domain, key, data.draw(other_events(domain)), data.draw(split))
