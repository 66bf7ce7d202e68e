"""Value types every domain validates with: instants, business units and text that can be stored.

One rule for times a person types: an RFC 3339 instant with an offset, or without one (then it is
UTC), or a bare date (midnight UTC). Instants outside [1970, 2200) are refused with 422 rather than
overflowing date arithmetic further down.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final

from pydantic import AfterValidator, StringConstraints

EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(2200, 1, 1, tzinfo=UTC)


def as_utc_instant(value: datetime) -> datetime:
    """`value` in UTC (naive means UTC); ValueError outside [1970, 2200)."""
    try:
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00+01:00 has no UTC equivalent
        raise ValueError("instant out of range: use an instant between 1970 and 2200") from exc
    if not EARLIEST <= utc < LATEST:
        raise ValueError("instant out of range: use an instant between 1970 and 2200")
    return utc


# RFC 3339 with or without an offset (none means UTC), or a date; always returned in UTC.
Instant = Annotated[datetime, AfterValidator(as_utc_instant)]

# One line: no control characters at all (names, ids, titles). NUL could not even be stored.
LINE_PATTERN: Final = r"^[^\x00-\x1f\x7f]*$"
# Free text: tabs and line breaks allowed, no other control character.
TEXT_PATTERN: Final = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

# Business units are slugs as in the event contract.
BusinessUnit = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
