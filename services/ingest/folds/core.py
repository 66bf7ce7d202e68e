"""The generic machinery: the contract's event order and state versions over time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from typing import Any, Generic, TypeVar

import msgspec

from trustline.shared.events.schemas import DATA_TYPES, _Data

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """What a fold needs of a stored event."""

    time: datetime
    source: str
    id: str
    type: str
    data: _Data


def events_by_key(
    rows: Iterable[Mapping[str, Any]], known: Mapping[tuple[str, str], _Data] | None = None
) -> dict[str, list[StoredEvent]]:
    """Stored events from raw_events rows (key, time, source, id, type, data as JSON text), per key.

    A row without data takes it from `known` (decoded payloads by (source, id)).
    """
    out: dict[str, list[StoredEvent]] = defaultdict(list)
    for r in rows:
        text = r["data"]
        data = (known or {})[(r["source"], r["id"])] if text is None else _decode(text, r["type"])
        out[r["key"]].append(StoredEvent(r["time"], r["source"], r["id"], r["type"], data))
    return out


def _decode(text: str, type_: str) -> _Data:
    return msgspec.json.decode(text, type=DATA_TYPES[type_])


_getters: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def values(obj: Any) -> tuple[Any, ...]:
    """A dataclass instance's field values in order.

    Like dataclasses.astuple, without its deep copy of every value (a third of the store's CPU time
    once): the fields of every state here are immutable.
    """
    get = _getters.get(type(obj))
    if get is None:
        names = [f.name for f in fields(obj)]
        # attrgetter of several names returns a tuple (built in C); of one name, the bare value.
        get = _getters[type(obj)] = (
            attrgetter(*names) if len(names) > 1 else lambda o: (getattr(o, names[0]),)
        )
    return get(obj)


def in_fold_order(events: Iterable[StoredEvent]) -> list[StoredEvent]:
    """Events sorted by (time, source, id): the contract's total order."""
    return sorted(events, key=lambda e: (e.time, e.source, e.id))


@dataclass(frozen=True, slots=True)
class Version(Generic[S]):
    """A state and the interval [valid_from, valid_to) over which it holds."""

    valid_from: datetime
    valid_to: datetime | None
    state: S


def versions(
    events: Iterable[StoredEvent],
    step: Callable[[S | None, StoredEvent], S | None],
    initial: S | None = None,
) -> list[Version[S]]:
    """Fold `step` over the events in contract order, keeping each distinct state with its interval.

    `step` returns the state after an event (None while nothing is known yet). Several events at one
    instant leave only the last state observable, and a state equal to the previous one starts no
    new version. `initial` resumes a fold: the state before the first of `events` (not re-emitted).
    """
    out: list[Version[S]] = []
    state: S | None = initial
    for ev in in_fold_order(events):
        new = step(state, ev)
        state = new
        if new is None or (out and out[-1].state == new) or (not out and new == initial):
            continue
        if out and out[-1].valid_from == ev.time:
            out.pop()
            if out and out[-1].state == new:
                out[-1] = Version(out[-1].valid_from, None, new)
                continue
            if not out and new == initial:
                continue
        if out:
            out[-1] = Version(out[-1].valid_from, ev.time, out[-1].state)
        out.append(Version(ev.time, None, new))
    return out
