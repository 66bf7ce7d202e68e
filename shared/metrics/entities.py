"""The entities the live snapshot keeps a contribution for, and when each one's contribution next moves.

An entity is what one recomputation covers: an asset (its inventory record, EDR sensor and every
vulnerability cycle on it, since a cycle's business unit is its asset's), a user (identity and MFA
factors), a cloud check (resource and control) or an incident. `NEXT_CHANGE` gives, per entity, the
first instant after :at at which its contribution to some family changes with no event at all: a version
starting or ending (events up to 24 h ahead are stored), an open cycle crossing its SLA or an age-bucket
edge, a closed cycle or an incident stage leaving a window, a heartbeat, an inventory record or a cloud
check going stale. Risk acceptances are handled apart (they are few; see `live`).

Comparisons are exact to the microsecond: "past the SLA" and "stale" are strict (`age > sla`, `seen <
at - max_age`), so they change one microsecond after the boundary; window exits and age buckets change at
the boundary itself. Durations are added as seconds (`make_interval(secs => ...)`), never as calendar
days, exactly as the families compare them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from trustline.shared.events.schemas import KEY_SEP

from .sql import Entities

Key = tuple[str, ...]
_US: Final = "interval '1 microsecond'"


def _after(expr: str) -> str:
    """`expr` when it lies after :at, else NULL (which LEAST ignores)."""
    return f"CASE WHEN {expr} > :at THEN {expr} END"


def _secs(expr: str) -> str:
    return f"make_interval(secs => {expr})"


def _next(alias: str, *candidates: str) -> str:
    """A version's next instant: its start when it lies ahead, else its end or the first candidate ahead."""
    moves = ", ".join([f"{alias}.valid_to", *(_after(c) for c in candidates)])
    return f"CASE WHEN {alias}.valid_from > :at THEN {alias}.valid_from ELSE LEAST({moves}) END"


def _current(alias: str, ent: Entities) -> str:
    """The versions of `alias` that hold at :at or start after it."""
    return f"({alias}.valid_to IS NULL OR {alias}.valid_to > :at){ent.where(alias)}"


def _window(i: int) -> str:
    """The length of the i-th metric window (1: the narrowest)."""
    return f"(:window_seconds::float8[])[{i}]"


_AGE_EDGES = (31, 61, 91)  # days: the backlog's age buckets start there


def _asset_moves(ent: Entities) -> str:
    windows = [_window(i) for i in (1, 2, 3)]
    cycle = _next(
        "c",
        "c.remediated_at",
        f"c.detected_at + {_secs('s.seconds')} + {_US}",
        *(f"c.detected_at + {_secs(str(d * 86400))}" for d in _AGE_EDGES),
        *(f"c.remediated_at + {_secs(w)}" for w in windows),
    )
    asset = _next("a", f"a.last_seen + {_secs(':inventory_stale_after::float8')} + {_US}")
    edr = _next("e", f"e.last_healthy_at + {_secs(':heartbeat_max_age::float8')} + {_US}")
    return f"""
SELECT c.asset_id AS k0, {cycle} AS t
FROM vuln_cycle_versions c
LEFT JOIN unnest(:severities::text[], :sla_seconds::float8[]) AS s(severity, seconds)
       ON s.severity = c.severity
WHERE {_current("c", ent)}
UNION ALL
SELECT a.asset_id, {asset} FROM asset_versions a WHERE {_current("a", ent)}
UNION ALL
SELECT e.asset_id, {edr} FROM edr_versions e WHERE {_current("e", ent)}
"""


def _user_moves(ent: Entities) -> str:
    return f"""
SELECT i.user_id AS k0, {_next("i")} AS t FROM identity_versions i WHERE {_current("i", ent)}
UNION ALL
SELECT f.user_id, {_next("f")} FROM mfa_factor_versions f WHERE {_current("f", ent)}
"""


def _check_moves(ent: Entities) -> str:
    stale = f"c.evaluated_at + {_secs(':check_stale_after::float8')} + {_US}"
    return f"""
SELECT c.resource_id AS k0, c.control_id AS k1, {_next("c", stale)} AS t
FROM cloud_check_versions c WHERE {_current("c", ent)}
"""


def _incident_moves(ent: Entities) -> str:
    stages = ("acknowledged_at", "contained_at", "restored_at", "resolved_at")
    exits = [f"i.{s} + {_secs(_window(w))}" for s in stages for w in (1, 2, 3)]
    return f"""
SELECT i.incident_id AS k0, {_next("i", *exits)} AS t
FROM incident_versions i WHERE {_current("i", ent)}
"""


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of entity: its key columns, the change domains that name it, and its next-change SQL."""

    name: str
    key: tuple[str, ...]
    # change domain -> the entity a changed key of that domain belongs to
    domains: Mapping[str, Callable[[str], Key]]
    moves: Callable[[Entities], str]

    def entities(self, only: bool) -> Entities:
        """Per entity of this kind: all of them, or `only` the named ones."""
        return Entities(self.key, only)

    def next_change_sql(self, only: bool) -> str:
        """Per entity, the first instant after :at at which its contribution moves with no event."""
        keys = ", ".join(f"k{i}" for i in range(len(self.key)))
        return (
            f"SELECT {keys}, min(t) AS next_change FROM ({self.moves(self.entities(only))}) m GROUP BY {keys}"
        )

    def filter(self, keys: set[Key]) -> dict[str, list[str]]:
        """The `:entity_<column>` arrays naming `keys`."""
        ordered = sorted(keys)
        return {f"entity_{c}": [k[i] for k in ordered] for i, c in enumerate(self.key)}


def _one(key: str) -> Key:
    return (key,)


def _first(key: str) -> Key:
    return (key.split(KEY_SEP, 1)[0],)


def _pair(key: str) -> Key:
    resource, control = key.split(KEY_SEP, 1)
    return (resource, control)


ASSET: Final = Kind(
    "asset", ("asset_id",), {"asset": _one, "vulnerability": _first, "edr": _one}, _asset_moves
)
USER: Final = Kind("user", ("user_id",), {"identity": _one}, _user_moves)
CHECK: Final = Kind("check", ("resource_id", "control_id"), {"cloud": _pair}, _check_moves)
INCIDENT: Final = Kind("incident", ("incident_id",), {"incident": _one}, _incident_moves)
KINDS: Final = (ASSET, USER, CHECK, INCIDENT)
