"""`trustline offsets`: skip or quarantine one Kafka record the ingest workers must not store."""

from __future__ import annotations

import getpass
import logging
import re
import socket
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

from trustline.ingest import overrides
from trustline.shared.logs import configure_logging
from trustline.shared.settings import get_settings
from trustline.shared.topics import event_topics

from .db import with_connection

offsets_app = typer.Typer(
    no_args_is_help=True,
    help="Tell the ingest workers to skip or quarantine one record (every decision is kept and logged).",
)
console = Console(stderr=True)
audit = logging.getLogger("trustline.audit")
Topic = Annotated[str, typer.Argument(help="The event topic, e.g. trustline.vulnerabilities")]
Partition = Annotated[int, typer.Argument(min=0)]
Offset = Annotated[int, typer.Argument(min=0)]
Reason = Annotated[str, typer.Option(help="Why (kept with the decision)")]
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _operator() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


def _decide(action: overrides.Action, topic: str, partition: int, offset: int, reason: str) -> None:
    configure_logging("INFO")
    topics = event_topics(get_settings().topic_prefix)
    if topic not in topics:
        raise typer.BadParameter(f"{topic!r} is not an event topic ({', '.join(topics)})")
    if not reason.strip() or _CONTROL.search(reason):
        raise typer.BadParameter("--reason must be a line of text")
    decision = overrides.Override(
        topic, partition, offset, action, reason.strip(), _operator(), datetime.now(UTC)
    )
    try:
        with_connection(lambda c: overrides.request(c, decision))
    except overrides.OverrideExists as exc:
        console.print(f"[red]refused:[/] {exc}")
        raise typer.Exit(1) from exc
    line = (
        f"AUDIT ingest override: {action} {topic}[{partition}]@{offset} "
        f"by {decision.requested_by} at {decision.requested_at.isoformat()}: {decision.reason}"
    )
    audit.warning(line)


@offsets_app.command()
def skip(topic: Topic, partition: Partition, offset: Offset, reason: Reason) -> None:
    """Commit past one record without storing or dead-lettering it."""
    _decide("skip", topic, partition, offset, reason)


@offsets_app.command()
def quarantine(topic: Topic, partition: Partition, offset: Offset, reason: Reason) -> None:
    """Send one record to the dead-letter topic (reason invalid_data, detail names who and why)."""
    _decide("quarantine", topic, partition, offset, reason)


@offsets_app.command("list")
def list_() -> None:
    """Every override, newest first: the audit trail of these decisions."""
    for o in with_connection(overrides.list_overrides):
        where = f"{o.topic}[{o.partition}]@{o.offset}"
        text = f"{o.requested_at:%Y-%m-%dT%H:%M:%SZ}  {o.action:10}  {where}  {o.requested_by}  {o.reason!r}"
        print(text)
