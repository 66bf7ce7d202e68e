"""`trustline dev status`: the local servers, a running `trustline run`, the database URLs (without
passwords) and, as root, data directories whose clone is gone."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich.console import Console

from trustline.shared.settings import Settings

from . import runstate
from .devstack import DevStack


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


def collect(settings: Settings) -> dict[str, Any]:
    """Everything `dev status` reports, as plain data (what --json prints)."""
    stack = DevStack(settings)
    try:
        migrations: str | None = settings.redacted_database_url(migration=True)
    except ValueError:  # prod without an owner URL: only `migrate` needs one
        migrations = None
    return {
        "services": [asdict(s) for s in stack.status()],
        "run": runstate.active(settings.state_dir),
        "database": {"services": settings.redacted_database_url(), "migrations": migrations},
        "kafka": settings.bootstrap_servers(),
        "orphans": [
            {
                "path": str(o.path),
                "state_dir": None if o.state_dir is None else str(o.state_dir),
                "size_bytes": o.size_bytes,
                "running": o.running,
            }
            for o in stack.orphans()
        ],
    }


def render(console: Console, status: dict[str, Any]) -> None:
    """The human-readable form."""

    def say(text: str) -> None:
        console.print(text, highlight=False)

    if not status["services"]:
        say("nothing managed: TRUSTLINE_DATABASE_URL and TRUSTLINE_KAFKA_BOOTSTRAP point elsewhere")
    for s in status["services"]:
        state = "[green]running[/]" if s["running"] else "[yellow]stopped[/]"
        say(f"{s['name']:9} {state}  {s['address']}  ({s['detail']})")
    if (run := status["run"]) is not None:
        parts = [f"{name} {c['state']}" + (f" ({c['restarts']} restarts)" if c["restarts"] else "")
                 for name, c in run["components"].items()]  # fmt: skip
        say(f"{'run':9} [green]running[/]  pid {run['pid']} since {run['started_at']}  ({', '.join(parts)})")
    db = status["database"]
    owner = f", {db['migrations']} (migrations)" if db["migrations"] else ""
    say(f"{'database':9} {db['services']} (services){owner}")
    recorded = [o for o in status["orphans"] if o["state_dir"] is not None]
    unknown = [o for o in status["orphans"] if o["state_dir"] is None]
    if recorded:
        total = sum(o["size_bytes"] for o in recorded)
        say(f"[yellow]{len(recorded)} orphaned data directories ({_mb(total)}): their state dir is gone[/]")
        for o in recorded:
            running = "  server running" if o["running"] else ""
            say(f"  {o['path']}  {_mb(o['size_bytes'])}  (was {o['state_dir']}){running}")
        say("  `trustline dev destroy --orphans` stops and deletes them")
    if unknown:
        say(f"{len(unknown)} data directories record no state dir (older version; remove if unused)")
        for o in unknown:
            say(f"  {o['path']}  {_mb(o['size_bytes'])}" + ("  server running" if o["running"] else ""))
