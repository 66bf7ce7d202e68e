"""Command output for people and for scripts: JSON, or a table under a header row.

Stored text never drives the terminal: control, format and line-separator characters come out as visible
escapes (`\\n`, `\\x1b`, `\\u202e`), so a title cannot draw fake lines or recolour the screen. A table on a
terminal is aligned by rich; piped, it is tab-separated, one record per line, never wrapped.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final

from rich.console import Console
from rich.markup import escape as escape_markup
from rich.table import Table
from rich.text import Text

_ESCAPED: Final = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})


def escape(text: str) -> str:
    """`text` with every character that would act on the terminal written as an escape sequence."""
    return "".join(
        ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) in _ESCAPED else ch
        for ch in text
    )


def literal(text: str) -> str:
    """`text` escaped for a rich console message: no control characters, no markup."""
    return escape_markup(escape(text))


def when(value: datetime | str | None) -> str:
    """An instant as `YYYY-MM-DDTHH:MM:SSZ` (UTC), or `-` for none."""
    if value is None:
        return "-"
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{instant:%Y-%m-%dT%H:%M:%SZ}"


def print_json(value: object) -> None:
    """`value` as JSON on stdout (non-ASCII and control characters escaped)."""
    print(json.dumps(value, indent=2, default=_plain))


def _plain(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def print_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Rows under a header row: aligned on a terminal, tab-separated and unwrapped otherwise."""
    cells = [[escape(cell) for cell in row] for row in rows]
    if not sys.stdout.isatty():
        for row in [list(headers), *cells]:
            print("\t".join(row))
        return
    table = Table(*headers, header_style="bold", highlight=False)
    for row in cells:
        table.add_row(*(Text(cell) for cell in row))
    Console(highlight=False).print(table)
