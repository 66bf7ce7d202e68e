"""`trustline keys`: API keys for the HTTP API (an operator tool with database access)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

from trustline.api.auth import service as keys

from .db import with_connection

keys_app = typer.Typer(no_args_is_help=True, help="API keys: create (shown once), list, revoke.")
console = Console()


@keys_app.command()
def create(
    principal: Annotated[str, typer.Option(help="Who uses the key; recorded on every change it makes")],
    scope: Annotated[list[str], typer.Option(help=f"Repeat for several: {', '.join(keys.SCOPES)}")],
    source: Annotated[
        list[str] | None,
        typer.Option(help="events:write only: a source the key may write, `*` as wildcard; repeatable"),
    ] = None,
) -> None:
    """Create a key and print it (this is the only time it is shown)."""
    try:
        key = with_connection(
            lambda c: keys.create_key(
                c, principal=principal, scopes=scope, now=datetime.now(UTC), sources=source or ()
            )
        )
    except ValueError as exc:
        console.print(f"[red]refused:[/] {exc}")
        raise typer.Exit(1) from exc
    print(key)


@keys_app.command("list")
def list_() -> None:
    """Every key: prefix, principal, scopes, and whether it is revoked."""
    for k in with_connection(keys.list_keys):
        state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
        console.print(f"{k.prefix}  {k.principal:20} {','.join(k.scopes):40} {state}", highlight=False)


@keys_app.command()
def revoke(prefix: Annotated[str, typer.Argument(help="The key's prefix, as `keys list` shows it")]) -> None:
    """Revoke a key at once."""
    if not with_connection(lambda c: keys.revoke_key(c, prefix=prefix, now=datetime.now(UTC))):
        console.print(f"[red]no active key with prefix {prefix}[/]")
        raise typer.Exit(1)
    console.print(f"revoked {prefix}")
