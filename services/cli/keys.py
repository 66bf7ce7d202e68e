"""`trustline keys`: API keys for the HTTP API (an operator tool with database access)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

from trustline.shared.auth import keys as keys
from trustline.shared.auth.principals import ascii_name

from .db import with_connection
from .inputs import expiry_instant
from .output import literal, print_json, print_table, when

keys_app = typer.Typer(no_args_is_help=True, help="API keys: create (shown once), list, revoke.")
err = Console(stderr=True, highlight=False, soft_wrap=True)


@keys_app.command()
def create(
    principal: Annotated[
        str, typer.Option(help="Who uses the key (stored case-folded); recorded on every change it makes")
    ],
    scope: Annotated[list[str], typer.Option(help=f"Repeat for several: {', '.join(keys.SCOPES)}")],
    source: Annotated[
        list[str] | None,
        typer.Option(help="events:write only: a source the key may write, `*` as wildcard; repeatable"),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(
            help="When the key stops working: RFC 3339 (no offset means UTC) or a duration, e.g. 90d"
        ),
    ] = None,
) -> None:
    """Create a key and print it (this is the only time it is shown)."""
    now = datetime.now(UTC)
    expires_at = expiry_instant(expires, now=now) if expires is not None else None
    try:
        key = with_connection(
            lambda c: keys.create_key(
                c, principal=principal, scopes=scope, now=now, sources=source or (), expires_at=expires_at
            )
        )
    except ValueError as exc:
        err.print(f"[red]refused:[/] {literal(str(exc))}")
        raise typer.Exit(1) from exc
    print(key)


def _state(k: keys.KeyInfo, now: datetime) -> str:
    if k.revoked_at is not None:
        return "revoked"
    return "expired" if k.expires_at is not None and k.expires_at <= now else "active"


@keys_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
) -> None:
    """Every key, newest first: never its secret. Names outside ASCII are shown as \\u escapes."""
    now, found = datetime.now(UTC), with_connection(keys.list_keys)
    if as_json:
        print_json([asdict(k) | {"state": _state(k, now)} for k in found])
        return
    headers = ("prefix", "principal", "scopes", "sources", "state", "created", "expires", "last_used")
    print_table(headers, [
        (k.prefix, ascii_name(k.principal), ",".join(k.scopes), ",".join(k.sources) or "-", _state(k, now),
         when(k.created_at), when(k.expires_at), when(k.last_used_at))
        for k in found
    ])  # fmt: skip


@keys_app.command()
def revoke(prefix: Annotated[str, typer.Argument(help="The key's prefix, as `keys list` shows it")]) -> None:
    """Revoke a key at once."""
    if not with_connection(lambda c: keys.revoke_key(c, prefix=prefix, now=datetime.now(UTC))):
        err.print(f"no active key with prefix {literal(ascii_name(prefix))}")
        raise typer.Exit(1)
    print(f"revoked {ascii_name(prefix)}")
