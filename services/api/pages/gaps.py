"""The gap lists: every drill-down of `GET /api/v1/gaps/...` with its filters, paging and total (the
metric it explains, at the same instant), as a page and as a CSV download; a breached finding links to a
proposal with its scope filled in."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args
from urllib.parse import urlencode

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from trustline.shared.events.schemas import OsFamily, Provider
from trustline.shared.policy import Policy
from trustline.shared.severity import SLA_SEVERITIES, SlaSeverity
from trustline.shared.types import BusinessUnit, Instant

from ..deps import Conn
from ..gaps import service as gaps_service
from ..gaps.schemas import Page, Population, Strength
from ..kpis import service as kpis_service
from .forms import parse
from .render import page, when
from .session import PageError, Viewer

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
CSV_MAX_ROWS = 100_000  # a download is bounded like any answer; the page says when it was cut
_CSV_CHUNK = 500
Reader = Callable[[asyncpg.Connection, gaps_service.Slice, Policy, dict[str, Any]], Awaitable[Page[Any]]]


class _Common(BaseModel):
    model_config = ConfigDict(extra="ignore")
    at: Instant | None = None
    offset: int = Field(default=0, ge=0, le=1_000_000_000)


class _Edr(_Common):
    business_unit: BusinessUnit | None = None
    os_family: OsFamily | None = None


class _Identities(_Common):
    business_unit: BusinessUnit | None = None
    population: Population = "privileged"
    strength: Strength = "any"


class _PastSla(_Common):
    business_unit: BusinessUnit | None = None
    severity: SlaSeverity | None = None


class _Checks(_Common):
    provider: Provider | None = None
    severity: SlaSeverity | None = None
    include_accepted: bool = False


class _Incidents(_Common):
    severity: SlaSeverity | None = None


@dataclass(frozen=True)
class GapList:
    """One drill-down as a page: its filters, how it is read, and the metric its total equals."""

    slug: str
    title: str
    metric: str
    filters: type[_Common]
    read: Reader
    propose: Callable[[dict[str, Any]], dict[str, str]] | None = None


def _edr(c: asyncpg.Connection, s: gaps_service.Slice, p: Policy, f: dict[str, Any]) -> Awaitable[Page[Any]]:
    return gaps_service.edr_uncovered(conn=c, page=s, policy=p, **f)


def _unknown(
    c: asyncpg.Connection, s: gaps_service.Slice, p: Policy, f: dict[str, Any]
) -> Awaitable[Page[Any]]:
    return gaps_service.edr_unknown(conn=c, page=s, policy=p)


def _mfa(c: asyncpg.Connection, s: gaps_service.Slice, p: Policy, f: dict[str, Any]) -> Awaitable[Page[Any]]:
    strong = f.pop("strength") == "phishing_resistant"
    return gaps_service.identities_without_mfa(conn=c, page=s, policy=p, phishing_resistant=strong, **f)


def _past(c: asyncpg.Connection, s: gaps_service.Slice, p: Policy, f: dict[str, Any]) -> Awaitable[Page[Any]]:
    return gaps_service.vulnerabilities_past_sla(conn=c, page=s, policy=p, **f)


def _checks(
    c: asyncpg.Connection, s: gaps_service.Slice, p: Policy, f: dict[str, Any]
) -> Awaitable[Page[Any]]:
    return gaps_service.cloud_checks_failing(conn=c, page=s, policy=p, **f)


def _incidents(
    c: asyncpg.Connection, s: gaps_service.Slice, p: Policy, f: dict[str, Any]
) -> Awaitable[Page[Any]]:
    return gaps_service.incidents_open(conn=c, page=s, **f)


LISTS = {
    g.slug: g
    for g in (
        GapList("edr-uncovered", "Assets without EDR coverage",
                "trustline_edr_assets_expected − trustline_edr_assets_covered", _Edr, _edr),
        GapList("edr-unknown", "EDR sensors on assets the inventory never saw",
                "trustline_edr_unknown_assets", _Common, _unknown),
        GapList("identities-without-mfa", "Identities without MFA",
                "trustline_identities − trustline_identities_mfa (the population and strength chosen)",
                _Identities, _mfa),
        GapList("vulnerabilities-past-sla", "Vulnerabilities past SLA, not accepted",
                'trustline_vulnerabilities_open{sla_status="breached"}', _PastSla, _past,
                lambda i: {"vulnerability_id": i["vulnerability_id"], "asset_id": i["asset_id"],
                           "severity": i["severity"]}),
        GapList("cloud-checks-failing", "Failing cloud configuration checks",
                'trustline_cloud_config_checks{status="fail"} (plus "accepted" when included)',
                _Checks, _checks,
                lambda i: {"control_id": i["control_id"], "resource_id": i["resource_id"],
                           "severity": i["severity"]} if not i["accepted"] else {}),
        GapList("incidents-open", "Open incidents", "trustline_incidents_open", _Incidents, _incidents),
    )
}  # fmt: skip


def _gap(slug: str) -> GapList:
    if slug not in LISTS:
        raise PageError(404, f"There is no gap list {slug!r}.")
    return LISTS[slug]


async def _read(
    request: Request, conn: asyncpg.Connection, gap: GapList, *, limit: int
) -> tuple[_Common, Page[Any]]:
    chosen = parse(gap.filters, request.query_params)
    at = await gaps_service.resolve_at(conn=conn, at=chosen.at)
    filters = chosen.model_dump(exclude={"at", "offset"})
    got = await gap.read(
        conn, gaps_service.Slice(at, limit, chosen.offset), request.app.state.policy, filters
    )
    return chosen, got


@router.get("/gaps")
async def index(request: Request, who: Viewer) -> Response:
    """Every gap list."""
    return page(request, "gaps_index.html", lists=LISTS.values())


def cell(value: Any) -> str:
    """A value as the CSV and the page show it (instants in ISO 8601 UTC, lists joined)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def _csv_safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (ids come from tools, i.e. from anyone)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.get("/gaps/{slug}.csv")
async def download(request: Request, conn: Conn, who: Viewer, slug: str) -> Response:
    """Every row of the list as of one instant (the same `at` for every chunk), as CSV."""
    gap = _gap(slug)
    chosen, first = await _read(request, conn, gap, limit=_CSV_CHUNK)
    rows = [i.model_dump() for i in first.items]
    filters = chosen.model_dump(exclude={"at", "offset"})
    offset = chosen.offset + len(rows)
    while len(rows) < min(first.total - chosen.offset, CSV_MAX_ROWS):
        window = gaps_service.Slice(first.as_of, _CSV_CHUNK, offset)
        got = await gap.read(conn, window, request.app.state.policy, dict(filters))
        if not got.items:
            break
        rows += [i.model_dump() for i in got.items]
        offset += len(got.items)
    rows = rows[:CSV_MAX_ROWS]
    name = f"{gap.slug}-{first.as_of:%Y%m%dT%H%M%SZ}.csv"
    return Response(
        csv_text(_columns(first, gap), rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "x-trustline-total": str(first.total),
            "x-trustline-as-of": first.as_of.isoformat(),
        },
    )


@router.get("/gaps/{slug}")
async def listing(request: Request, conn: Conn, who: Viewer, slug: str) -> Response:
    """One page of a gap list with its filters; its total is the metric's value at the same instant."""
    gap = _gap(slug)
    chosen, got = await _read(request, conn, gap, limit=PAGE_SIZE)
    columns = _columns(got, gap)
    items = [i.model_dump() for i in got.items]
    rows = [
        {"cells": [render_cell(c, i[c]) for c in columns], "propose": _propose_link(gap, i)} for i in items
    ]
    accepted = (
        await _accepted(request, conn) if gap.slug == "vulnerabilities-past-sla" and not chosen.at else None
    )
    pinned = {**chosen.model_dump(exclude_defaults=True, exclude={"offset"}), "at": got.as_of.isoformat()}

    def query(**changes: Any) -> str:
        return urlencode({k: v for k, v in {**pinned, **changes}.items() if v is not None})

    return page(
        request, "gap.html", gap=gap, got=got, columns=columns, rows=rows, chosen=chosen,
        query=query, page_size=PAGE_SIZE, csv_max=CSV_MAX_ROWS, os_families=get_args(OsFamily),
        providers=get_args(Provider), severities=SLA_SEVERITIES, accepted=accepted,
    )  # fmt: skip


async def _accepted(request: Request, conn: asyncpg.Connection) -> int | None:
    """Open findings covered by an acceptance in the snapshot /metrics serves (the KPI service's count)."""
    state = request.app.state
    try:
        kpis = await kpis_service.kpis(
            conn=conn, at=None, window="30d", policy=state.policy,
            max_business_units=state.max_business_units, compute_slot=state.kpi_compute_slot,
        )  # fmt: skip
    except kpis_service.Busy:
        return None
    return sum(p.open.accepted for p in kpis.patching)


def _columns(got: Page[Any], gap: GapList) -> list[str]:
    model = type(got).model_fields["items"].annotation.__args__[0]  # type: ignore[union-attr]
    return list(model.model_fields)


def _propose_link(gap: GapList, item: dict[str, Any]) -> str | None:
    if gap.propose is None:
        return None
    scope = gap.propose(item)
    return f"/risk/new?{urlencode(scope)}" if scope else None


def render_cell(name: str, value: Any) -> str:
    """A value as the page shows it: instants to the minute, durations in days."""
    if isinstance(value, datetime):
        return when(value)
    if name.endswith("_seconds") and isinstance(value, int | float):
        return f"{value / 86400:.1f} d"
    return cell(value)


def csv_text(columns: list[str], rows: list[dict[str, Any]]) -> str:
    """The CSV body: a header row, then one row per item."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([_csv_safe(cell(r[c])) for c in columns])
    return out.getvalue()
