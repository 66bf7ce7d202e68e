"""A PostgreSQL query target for Grafana panels (the SDK ships no builder for it) and the history SQL.

The history lives in `snapshots` (one row per stored instant `at`), `metric_series` (id, name, labels
JSONB) and `metric_values` (series_id, valid_from, valid_to, value, slope): a series' value at a stored
instant is `value + slope x seconds since valid_from` from the interval containing it, found through the
interval's GiST index. Each query keeps the last snapshot of each day of the dashboard's range.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants

from .panels import POSTGRES

Format = Literal["time_series", "table"]


class SqlQuery(cogvariants.Dataquery):
    """A raw-SQL target of Grafana's PostgreSQL datasource."""

    def __init__(self, ref_id: str, raw_sql: str, fmt: Format) -> None:
        self.ref_id = ref_id
        self.raw_sql = raw_sql
        self.fmt = fmt

    def to_json(self) -> dict[str, object]:
        """The target as Grafana stores it."""
        return {
            "datasource": {"type": POSTGRES.type_val, "uid": POSTGRES.uid},
            "editorMode": "code",
            "format": self.fmt,
            "rawQuery": True,
            "rawSql": self.raw_sql,
            "refId": self.ref_id,
        }


class Sql(cogbuilder.Builder[cogvariants.Dataquery]):
    """Builder for SqlQuery, so panels take it like any SDK query."""

    def __init__(self, raw_sql: str, *, ref_id: str = "A", fmt: Format = "time_series") -> None:
        self._query = SqlQuery(ref_id, raw_sql, fmt)

    def build(self) -> SqlQuery:
        """The query."""
        return self._query


def _in(names: Sequence[str]) -> str:
    return ", ".join(f"'{n}'" for n in sorted(set(names)))


def daily(columns: str, names: Sequence[str], *, series: str = "") -> str:
    """One point per day (its last snapshot) in the dashboard's range; `series`: a label to split by."""
    split = f", m.labels->>'{series}' AS metric" if series else ""
    group = "1, 2" if series else "1"
    return (
        "WITH days AS (\n"
        "  SELECT max(at) AS at FROM snapshots WHERE $__timeFilter(at) GROUP BY date_trunc('day', at)\n"
        ")\n"
        f'SELECT d.at AS "time"{split}, {columns}\n'
        "FROM days d JOIN LATERAL (\n"
        "  SELECT s.name, s.labels, v.value + v.slope * date_part('epoch', d.at - v.valid_from) AS value\n"
        "  FROM metric_values v JOIN metric_series s ON s.id = v.series_id\n"
        f"  WHERE tstzrange(v.valid_from, v.valid_to) @> d.at AND s.name IN ({_in(names)})\n"
        ") m ON true\n"
        f"GROUP BY {group}\n"
        f"ORDER BY {group}"
    )


def share(alias: str, numerator: str, denominator: str) -> str:
    """A ratio column; NULL (a gap, not 0) where the population is empty."""
    return (
        f"sum(m.value) FILTER (WHERE {numerator})\n"
        f'  / NULLIF(sum(m.value) FILTER (WHERE {denominator}), 0) AS "{alias}"'
    )
