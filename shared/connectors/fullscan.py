"""Full-scan reconciliation: what a complete scan of a scope no longer reports is closed at the scan's time.

A full scan's events carry its scope as their CloudEvents `subject`, so the stored events say what every
earlier scan of that scope reported. At a new scan at S, every cycle or factor open as of S that an
earlier event of the same source and scope named, and that this scan does not name, gets a closing event
(`vulnerability.remediated`, `mfa.removed`, `identity.deactivated`) at S with an id derived from the
scope, S and the entity: a replay generates the same ids, which ingest stores once. The events go through
the ordinary pipeline like the scan's own.

Scopes never reach across sources: a scan closes only what its own source reported in that scope, so a
key allowed to write `trivy/*` cannot close a finding another tool reported. Reconciliation reads what is
stored: scans of one scope are imported in order, each after the previous one is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import asyncpg

from trustline.shared.events.schemas import KEY_SEP
from trustline.shared.metrics.sql import as_of, unremediated
from trustline.shared.sql import Fragment, Query, fetch

from .common import CloudEvent, Mapped, Options, cloudevent, event_id, vuln_key


def _in_scope(domain: str, key: str, extra: str = "") -> Fragment:
    """An event of the source and scope named this entity (key expression `key`) by S."""
    return Fragment(
        f"EXISTS (SELECT 1 FROM raw_events r WHERE r.domain = '{domain}' AND r.key = {key} "
        f"AND r.time <= :at AND r.source = :source AND r.subject = :scope {extra})",
        needs=("at", "source", "scope"),
    )


# The stored key of an instance: asset and vulnerability joined by the contract's separator.
_VULN_KEY: Final = f"c.asset_id || chr({ord(KEY_SEP)}) || c.vulnerability_id"
_OPEN_CYCLES: Final = Query(f"""
SELECT c.asset_id, c.vulnerability_id FROM vuln_cycle_versions c
WHERE {unremediated("c")} AND {_in_scope("vulnerability", _VULN_KEY)}
""")
_ACTIVE_USERS: Final = Query(f"""
SELECT i.user_id FROM identity_versions i
WHERE {as_of("i")} AND i.active AND {_in_scope("identity", "i.user_id", "AND r.type = 'identity.observed'")}
""")
_FACTOR_OF_EVENT = "COALESCE(r.data->>'factor_id', r.data->>'factor_type')"
_FACTOR_IN_SCOPE: Final = _in_scope(
    "identity", "f.user_id", f"AND r.type = 'mfa.enrolled' AND {_FACTOR_OF_EVENT} = f.factor_key"
)
_ENROLLED: Final = Query(f"""
SELECT f.user_id, f.factor_key, f.factor_type FROM mfa_factor_versions f
WHERE {as_of("f")} AND f.enrolled AND {_FACTOR_IN_SCOPE}
""")


@dataclass(frozen=True, slots=True)
class Reconciled:
    """The closing events of a full scan, or why none were made."""

    events: list[CloudEvent]
    skipped: str | None = None


async def reconcile(conn: asyncpg.Connection, mapped: Mapped, opts: Options) -> Reconciled:
    """The closing events for a full scan (`opts.scope`) mapped into `mapped`; none for a partial import."""
    if opts.scope is None:
        return Reconciled([], "partial import: nothing closed")
    if not mapped.complete or mapped.at is None:
        return Reconciled([], "some records could not be identified: nothing closed")
    at, closer = mapped.at, _Closer(opts, mapped.at)
    common = {"at": at, "source": opts.source, "scope": opts.scope}
    if mapped.domain == "vulnerability":
        for r in await fetch(conn, _OPEN_CYCLES, **common):
            if vuln_key(r["asset_id"], r["vulnerability_id"]) not in mapped.reported:
                closer.remediated(r["asset_id"], r["vulnerability_id"])
    elif mapped.domain == "identity":
        for r in await fetch(conn, _ACTIVE_USERS, **common):
            if r["user_id"] not in mapped.reported:
                closer.deactivated(r["user_id"])
        for r in await fetch(conn, _ENROLLED, **common):
            if (r["user_id"], r["factor_key"]) not in mapped.reported_factors:
                closer.removed(r["user_id"], r["factor_key"], r["factor_type"])
    else:
        return Reconciled([], f"{mapped.domain} events are not snapshots: nothing closed")
    return Reconciled(closer.events)


class _Closer:
    """Closing events at S, with ids from (scope, S, entity): a replay makes the same ones."""

    def __init__(self, opts: Options, at: datetime) -> None:
        self.opts, self.at, self.events = opts, at, list[CloudEvent]()

    def _emit(self, type_: str, data: Mapping[str, object], *entity: str) -> None:
        assert self.opts.scope is not None
        id_ = event_id("fullscan", self.opts.scope, self.at.isoformat(), type_, *entity)
        self.events.append(
            cloudevent(
                type_, source=self.opts.source, id_=id_, at=self.at, data=data, subject=self.opts.scope
            )
        )

    def remediated(self, asset_id: str, vulnerability_id: str) -> None:
        data = {"asset_id": asset_id, "vulnerability_id": vulnerability_id, "patch_id": "full-scan"}
        self._emit("vulnerability.remediated", data, asset_id, vulnerability_id)

    def deactivated(self, user_id: str) -> None:
        self._emit("identity.deactivated", {"user_id": user_id}, user_id)

    def removed(self, user_id: str, factor_key: str, factor_type: str) -> None:
        data = {"user_id": user_id, "factor_type": factor_type, "factor_id": factor_key}
        self._emit("mfa.removed", data, user_id, factor_key)
