"""The tables ingest writes, as shared.schema describes them: column lists are read from there, rows are
built by column name."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql

from trustline.shared import schema

Record = tuple[Any, ...]
_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


def getter(names: Sequence[str], *, attributes: bool = False) -> Callable[[Any], Record]:
    """Values by name (keys of a mapping, or `attributes` of an object) as a tuple in the order of
    `names`, fetched in C: a row for COPY from values by column name, a state from a stored row."""
    get = attrgetter(*names) if attributes else itemgetter(*names)
    if len(names) == 1:  # a single name gives the bare value
        return lambda obj: (get(obj),)
    return get


def by_column(columns: Sequence[str], records: Sequence[Record]) -> dict[str, list[Any]]:
    """Rows given in the order of `columns`, as one list per column (what unnest() takes)."""
    return {name: [r[i] for r in records] for i, name in enumerate(columns)}


def unnest(
    table: Table,
    names: Sequence[str],
    alias: str,
    *,
    like: Mapping[str, str] | None = None,
    ordinality: str | None = None,
) -> str:
    """`unnest(:a::TYPE[], ...) AS alias(a, ...)`: one parameter per name, typed as the schema types the
    column of that name (or the column `like` maps it to); `ordinality` names a position column (from 1)."""
    types = [table.c[(like or {}).get(n, n)].type.compile(dialect=_DIALECT) for n in names]
    arrays = ", ".join(f":{n}::{t}[]" for n, t in zip(names, types, strict=True))
    columns = ", ".join((*names, ordinality) if ordinality else names)
    return f"unnest({arrays}){' WITH ORDINALITY' if ordinality else ''} AS {alias}({columns})"


@dataclass(frozen=True, slots=True, init=False)
class StateTable:
    """A versions table: the entity key, then the part of the entity a series of versions belongs to
    (a factor, a cycle; often none), then valid_from make its primary key; every row has valid_to."""

    table: Table
    name: str
    key_columns: tuple[str, ...]
    part_columns: tuple[str, ...]
    columns: tuple[str, ...]

    def __init__(self, table: Table, key: tuple[str, ...]) -> None:
        primary = tuple(table.primary_key.columns.keys())
        if primary[: len(key)] != key or primary[-1] != "valid_from" or "valid_to" not in table.c:
            raise ValueError(f"{table.name}: not a versions table keyed by {key}")
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "name", table.name)
        object.__setattr__(self, "key_columns", key)
        object.__setattr__(self, "part_columns", primary[len(key) : -1])
        object.__setattr__(self, "columns", tuple(table.c.keys()))

    def shape(self, names: Sequence[str]) -> Callable[[Sequence[Any]], Record]:
        """Reorder values given in `names` order into the table's column order (`names`: its columns)."""
        if sorted(names) != sorted(self.columns):
            raise ValueError(f"{self.name} has columns {self.columns}, not {tuple(names)}")
        if tuple(names) == self.columns:
            return tuple
        getter: Callable[[Sequence[Any]], Record] = itemgetter(*(list(names).index(c) for c in self.columns))
        return getter  # several indices: itemgetter returns a tuple


ASSETS = StateTable(schema.asset_versions, ("asset_id",))
CYCLES = StateTable(schema.vuln_cycle_versions, ("asset_id", "vulnerability_id"))
EDR = StateTable(schema.edr_versions, ("asset_id",))
IDENTITIES = StateTable(schema.identity_versions, ("user_id",))
FACTORS = StateTable(schema.mfa_factor_versions, ("user_id",))
CHECKS = StateTable(schema.cloud_check_versions, ("resource_id", "control_id"))
INCIDENTS = StateTable(schema.incident_versions, ("incident_id",))
