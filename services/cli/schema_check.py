"""`trustline migrate --check`: is the database's schema at this code's head (an init container's gate)."""

from __future__ import annotations

import time
from collections.abc import Callable

from trustline.shared.faults import SetupError
from trustline.shared.migrations import Revision, check
from trustline.shared.settings import Settings, redact

POLL_SECONDS = 2.0


def describe(rev: Revision) -> str:
    """One line: at head, or where the schema is and what it needs."""
    heads = ", ".join(rev.heads)
    if rev.at_head:
        return f"schema is at head ({heads})"
    current = ", ".join(rev.current) or "empty (never migrated)"
    return f"schema is {current}; this version needs {heads}: run `trustline migrate`"


def wait_for_head(settings: Settings, *, seconds: float, say: Callable[[str], None]) -> tuple[bool, str]:
    """Check until the schema is at head or `seconds` pass; (at head, the last line). A refused
    certificate or password ends the wait at once (SetupError)."""
    deadline = time.monotonic() + seconds
    last = ""
    while True:
        try:
            rev = check(settings)
            line = describe(rev)
            if rev.at_head:
                return True, line
        except SetupError:
            raise
        except Exception as exc:  # unreachable or starting: worth another look while waiting
            line = redact(f"cannot read the schema revision: {exc.__class__.__name__}: {exc}".splitlines()[0])
        if time.monotonic() >= deadline:
            return False, line
        if line != last:
            say(f"waiting: {line}")
            last = line
        time.sleep(POLL_SECONDS)
