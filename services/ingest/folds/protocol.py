"""What every domain's fold provides, so that one resume path serves them all.

An entity's stored rows are the fold of its stored events. When new events arrive, the earliest of them
(the cutoff) splits the entity's history: everything the fold derived from the events before the cutoff
stands, and the rows valid just before it hold the state at that instant. A fold therefore resumes from
those starting rows over the events from the cutoff on, and reports what changes: new rows, starting rows
whose valid_to moves, and parts it wrote again whole. That is exactly what a fold of all the events gives,
without reading the events before the cutoff (which is what lets old raw events go).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

from ..tables import Record, StateTable, getter
from .core import StoredEvent, versions

S = TypeVar("S")
Row = Mapping[str, Any]  # a stored row, read by column name
Key = tuple[str, ...]  # an entity's key: the values of its table's key columns
Events = Sequence[StoredEvent]  # an entity's events from its cutoff on
BEGINNING = datetime.min.replace(tzinfo=UTC)  # a cutoff before every event: fold everything


class Start(Enum):
    """Which stored rows before the cutoff a fold resumes from, per entity."""

    # The latest row of each part (of the entity when it has no parts): the state of each series.
    LATEST_OF_EACH_PART = "latest of each part"
    # Every row of the part that started last (parts follow one another in time): a part still open at
    # the cutoff may have to be written again whole.
    LATEST_PART = "latest part"


@dataclass(slots=True)
class Written:
    """What resuming folds change in their table (one list for a whole batch of entities)."""

    rows: list[Record] = field(default_factory=list)  # new rows, in the table's column order
    # (key..., part..., valid_from, new valid_to) of starting rows whose valid_to moves
    closes: list[Record] = field(default_factory=list)
    replaced: list[Record] = field(default_factory=list)  # (key..., part...) of parts written again whole


class TableFold(Protocol):
    """The fold of one domain into one of its tables."""

    @property
    def table(self) -> StateTable: ...

    @property
    def start(self) -> Start: ...

    def resume(self, key: Key, start: Sequence[Row], cutoff: datetime, events: Events, out: Written) -> None:
        """Fold `events` (all of the entity's from `cutoff` on) from the rows `start` selects, into `out`."""
        ...


@dataclass(frozen=True, slots=True)
class Domain:
    """An entity kind: the folds of its events into each of its tables (all keyed alike)."""

    folds: tuple[TableFold, ...]

    @property
    def tables(self) -> tuple[StateTable, ...]:
        """The tables, in the order of the folds."""
        return tuple(f.table for f in self.folds)


def fold_all(fold: TableFold, key: Sequence[str], events: Sequence[StoredEvent]) -> list[Record]:
    """The rows of one entity from all its events (a fold with nothing stored)."""
    out = Written()
    fold.resume(tuple(key), (), BEGINNING, events, out)
    return out.rows


class VersionsFold(Generic[S]):
    """Versions of one state per entity, or per part of it when `part` names the part an event belongs to
    (events it names none for are not this table's)."""

    start = Start.LATEST_OF_EACH_PART

    def __init__(
        self,
        table: StateTable,
        state: type[S],
        step: Callable[[S | None, StoredEvent], S | None],
        part: Callable[[StoredEvent], str | None] | None = None,
    ) -> None:
        if (part is None) != (not table.part_columns) or len(table.part_columns) > 1:
            raise ValueError(f"{table.name}: parts {table.part_columns}, but part={part}")
        self.table = table
        self.state = state
        self.step = step
        self.part = part
        names = [f.name for f in fields(state)]  # type: ignore[arg-type]
        self._from_row = getter(names)
        self._values = getter(names, attributes=True)
        self._row = table.shape((*table.key_columns, *table.part_columns, "valid_from", "valid_to", *names))

    def state_of(self, row: Row) -> S:
        """The state a stored row holds, by column name."""
        return self.state(*self._from_row(row))

    def resume(self, key: Key, start: Sequence[Row], cutoff: datetime, events: Events, out: Written) -> None:
        """New versions of every series from its starting row; that row now ends where they begin."""
        if self.part is None:
            self._series(out, key, start[0] if start else None, events)
            return
        starts = {tuple(r[c] for c in self.table.part_columns): r for r in start}
        series: dict[tuple[str, ...], list[StoredEvent]] = defaultdict(list)
        for ev in events:
            if (name := self.part(ev)) is not None:
                series[(name,)].append(ev)
        for part in sorted(starts.keys() | series.keys()):
            self._series(out, (*key, *part), starts.get(part), series.get(part, ()))

    def _series(
        self, out: Written, prefix: tuple[str, ...], row: Row | None, events: Sequence[StoredEvent]
    ) -> None:
        """One series of versions (`prefix`: its key and part)."""
        new = versions(events, self.step, None if row is None else self.state_of(row))
        shape, values_of = self._row, self._values
        out.rows.extend(shape((*prefix, v.valid_from, v.valid_to, *values_of(v.state))) for v in new)
        if row is not None and (valid_to := new[0].valid_from if new else None) != row["valid_to"]:
            out.closes.append((*prefix, row["valid_from"], valid_to))
