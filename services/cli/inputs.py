"""Values typed on the command line: expiries as an instant or as a duration from now."""

from __future__ import annotations

from datetime import datetime, timedelta

import typer

from trustline.shared.policy import parse_duration
from trustline.shared.types import as_utc_instant


def expiry_instant(text: str, *, now: datetime) -> datetime:
    """`now` plus a duration (`90d`, `12h`), or an RFC 3339 instant (no offset means UTC)."""
    try:
        duration = parse_duration(text)
        if isinstance(duration, timedelta):
            return as_utc_instant(now + duration)
        return as_utc_instant(datetime.fromisoformat(text.strip()))
    except (ValueError, OverflowError) as exc:
        raise typer.BadParameter(
            f"{text!r} is neither an RFC 3339 instant (2027-01-31T00:00:00Z) nor a duration (90d): {exc}"
        ) from exc


def parse_expiry(text: str, *, now: datetime) -> str:
    """The expiry as the RFC 3339 text the API takes."""
    return expiry_instant(text, now=now).isoformat()
