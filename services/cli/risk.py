"""`trustline risk`: the risk-acceptance registry from a terminal (an operator tool with database access)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar
from uuid import UUID

import asyncpg
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from trustline.api.risk_acceptances import service as registry
from trustline.api.risk_acceptances.schemas import Acceptance, AcceptanceCreate, Scope
from trustline.shared.policy import load_policy
from trustline.shared.settings import get_settings

from .db import with_connection

T = TypeVar("T")
risk_app = typer.Typer(
    no_args_is_help=True, help="The risk-acceptance registry: propose, decide, list, show."
)
console = Console()
Actor = Annotated[str, typer.Option("--as", help="Who is acting (recorded in the audit trail)")]
Reason = Annotated[str | None, typer.Option(help="Why (recorded in the audit trail)")]


def _with_conn(action: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    try:
        return with_connection(action)
    except (registry.RegistryError, ValidationError) as exc:
        console.print(f"[red]refused:[/] {exc}")
        raise typer.Exit(1) from exc


def _show(a: Acceptance) -> None:
    scope = ", ".join(f"{k}={v}" for k, v in a.scope.model_dump().items() if v is not None)
    expires = f"{a.expires_at:%Y-%m-%d %H:%M}Z"
    console.print(f"{a.id}  [bold]{a.status}[/]  {a.severity}  {scope}  expires {expires}  {a.title}")


@risk_app.command()
def propose(
    title: Annotated[str, typer.Option()],
    justification: Annotated[str, typer.Option()],
    severity: Annotated[str, typer.Option(help="critical, high, medium or low")],
    owner: Annotated[str, typer.Option(help="The business owner who carries the risk")],
    expires: Annotated[str, typer.Option(help="Expiry, RFC 3339")],
    actor: Actor,
    vulnerability: Annotated[str | None, typer.Option(help="Scope: a vulnerability id")] = None,
    asset: Annotated[str | None, typer.Option(help="Scope: limit to one asset")] = None,
    control: Annotated[str | None, typer.Option(help="Scope: a cloud control id")] = None,
    resource: Annotated[str | None, typer.Option(help="Scope: limit to one resource")] = None,
    business_unit: Annotated[str | None, typer.Option(help="Scope: limit to one business unit")] = None,
    controls: Annotated[str, typer.Option(help="Compensating controls")] = "",
) -> None:
    """Propose a risk acceptance; someone else must approve it."""

    async def act(conn: asyncpg.Connection) -> Acceptance:
        data = AcceptanceCreate(
            title=title,
            justification=justification,
            compensating_controls=controls,
            severity=severity,  # type: ignore[arg-type]
            business_owner=owner,
            expires_at=datetime.fromisoformat(expires),
            scope=Scope(
                vulnerability_id=vulnerability,
                asset_id=asset,
                control_id=control,
                resource_id=resource,
                business_unit=business_unit,
            ),
        )
        policy = load_policy(get_settings().policy_file)
        return await registry.propose(conn, data=data, actor=actor, now=datetime.now(UTC), policy=policy)

    _show(_with_conn(act))


def _decision(name: str, fn: Callable[..., Awaitable[Acceptance]]) -> None:
    @risk_app.command(name=name, help=f"{name.capitalize()} an acceptance.")
    def command(acceptance_id: UUID, actor: Actor, reason: Reason = None) -> None:
        _show(
            _with_conn(
                lambda c: fn(
                    c, acceptance_id=acceptance_id, actor=actor, now=datetime.now(UTC), reason=reason
                )
            )
        )


_decision("approve", registry.approve)
_decision("reject", registry.reject)
_decision("revoke", registry.revoke)


@risk_app.command("list")
def list_(
    status: Annotated[str | None, typer.Option()] = None,
    severity: Annotated[str | None, typer.Option()] = None,
    business_unit: Annotated[str | None, typer.Option()] = None,
) -> None:
    """List acceptances, newest first."""
    rows = _with_conn(
        lambda c: registry.list_acceptances(c, status=status, severity=severity, business_unit=business_unit)
    )
    for a in rows:
        _show(a)


@risk_app.command()
def show(acceptance_id: UUID) -> None:
    """One acceptance with its audit trail."""
    acceptance, trail = _with_conn(lambda c: registry.get(c, acceptance_id=acceptance_id))
    _show(acceptance)
    table = Table("at", "action", "actor", "status", "detail")
    for e in trail:
        table.add_row(e.at.isoformat(timespec="seconds"), e.action, e.actor, e.status, str(e.detail or ""))
    console.print(table)
