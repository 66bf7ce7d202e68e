"""Per-entity contributions to a family's groups, and their totals: the arithmetic of the live snapshot.

A family statement read per entity (`Part`) gives, for each entity, rows with the family's group columns
and measures. Counts add and subtract exactly. Seconds are kept as whole microseconds, so removing an
entity's contribution leaves exactly what the others sum to (floats would drift). Two measures do not
add: the security debt moves with the clock (kept as a line: value at the computation instant and a slope,
valid until the entity's next change recomputes it) and the oldest open age is a minimum (kept as the
multiset of each entity's earliest detection per group).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from trustline.shared.sql import Query

from .entities import Kind
from .sql import Entities

_MICRO = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)
Group = tuple[Any, ...]


def micros(at: datetime) -> int:
    """An instant as whole microseconds since the epoch (exact, unlike a float timestamp)."""
    return (at - _EPOCH) // _ONE_MICROSECOND


@dataclass(frozen=True, slots=True)
class Part:
    """A family's as-of statement read per entity of `kind`: what groups it, what its measures are.

    `line` names the (value, slope) columns of a measure that moves with the clock; `oldest` the column
    holding each row's earliest timestamp and the age column the family's builder reads from it.
    """

    name: str
    kind: Kind
    sql: Callable[[Entities], str]
    groups: tuple[str, ...]
    counts: tuple[str, ...] = ()
    seconds: tuple[str, ...] = ()
    line: tuple[str, str] | None = None
    oldest: tuple[str, str] | None = None
    queries: Mapping[bool, Query] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        queries = {only: Query(self.sql(self.kind.entities(only))) for only in (False, True)}
        object.__setattr__(self, "queries", queries)


@dataclass(frozen=True, slots=True)
class Contribution:
    """One entity's row in one group of a part."""

    group: Group
    values: tuple[int | None, ...]  # counts, then seconds in microseconds
    line: tuple[int, int] | None  # (value in microseconds at instant 0, slope)
    oldest: datetime | None

    @classmethod
    def of(cls, part: Part, row: Mapping[str, Any], at_us: int) -> Contribution:
        """The contribution a statement row gives, computed at `at_us`."""
        values = [row[c] for c in part.counts]
        values += [None if row[c] is None else round(row[c] * _MICRO) for c in part.seconds]
        line = None
        if part.line is not None and row[part.line[0]] is not None:
            slope = int(row[part.line[1]])
            line = (round(row[part.line[0]] * _MICRO) - slope * at_us, slope)
        oldest = row[part.oldest[0]] if part.oldest is not None else None
        return cls(tuple(row[g] for g in part.groups), tuple(values), line, oldest)


class _Earliest:
    """A multiset of instants with its minimum (removals are lazy)."""

    __slots__ = ("_counts", "_heap")

    def __init__(self) -> None:
        self._counts: Counter[datetime] = Counter()
        self._heap: list[datetime] = []

    def add(self, at: datetime) -> None:
        if not self._counts[at]:
            heapq.heappush(self._heap, at)
        self._counts[at] += 1

    def remove(self, at: datetime) -> None:
        self._counts[at] -= 1
        if not self._counts[at]:
            del self._counts[at]

    def min(self) -> datetime | None:
        while self._heap and self._heap[0] not in self._counts:
            heapq.heappop(self._heap)
        return self._heap[0] if self._heap else None


class _Total:
    """The sum of the contributions to one group (and how many there are: none means no group)."""

    __slots__ = ("members", "values", "line", "oldest")

    def __init__(self, width: int) -> None:
        self.members = 0
        self.values: list[int | None] = [None] * width
        self.line: list[int] | None = None
        self.oldest = _Earliest()

    def add(self, c: Contribution, sign: int) -> None:
        self.members += sign
        for i, v in enumerate(c.values):
            if v is not None:
                self.values[i] = (self.values[i] or 0) + sign * v
        if c.line is not None:
            self.line = self.line or [0, 0]
            self.line[0] += sign * c.line[0]
            self.line[1] += sign * c.line[1]
        if c.oldest is not None:
            (self.oldest.add if sign > 0 else self.oldest.remove)(c.oldest)


class Totals:
    """Every group of one part, summed over the entities' contributions."""

    def __init__(self, part: Part) -> None:
        self.part = part
        self._groups: dict[Group, _Total] = {}

    def add(self, c: Contribution, sign: int) -> None:
        """Add (sign 1) or take back (sign -1) one contribution."""
        total = self._groups.get(c.group)
        if total is None:
            total = self._groups[c.group] = _Total(len(c.values))
        total.add(c, sign)
        if total.members == 0:
            del self._groups[c.group]

    def rows(self, at: datetime) -> Iterator[dict[str, Any]]:
        """The groups as the as-of statement would give them at `at`, for the family's builder."""
        part, at_us = self.part, micros(at)
        scales = [1] * len(part.counts) + [_MICRO] * len(part.seconds)
        for group, total in self._groups.items():
            row: dict[str, Any] = dict(zip(part.groups, group, strict=True))
            for name, scale, v in zip((*part.counts, *part.seconds), scales, total.values, strict=True):
                row[name] = v if v is None or scale == 1 else v / scale
            if part.line is not None:
                value, slope = part.line
                line = total.line
                row[value] = None if line is None else (line[0] + line[1] * at_us) / _MICRO
                row[slope] = None if line is None else line[1]
            if part.oldest is not None:
                earliest = total.oldest.min()
                row[part.oldest[1]] = None if earliest is None else (at - earliest).total_seconds()
            yield row
