"""Named SQL parameters for asyncpg: statements say `:at`, callers bind by name, nothing by position.

asyncpg speaks PostgreSQL's positional `$1, $2, ...`. A fragment whose `$2` is a heartbeat age in one
query and a list of severities in the next gives wrong numbers, not an error, when two arguments swap.
`Query` turns `:name` into `$n` once, when the statement is defined, and `args` refuses a missing or an
unknown name. Casts (`::text`), string literals, quoted identifiers, comments and dollar-quoted bodies are
left alone; a positional `$n` written by hand is refused. A `Fragment` is a piece of SQL that statements
embed, with the names it binds declared next to it and checked against its text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_POSITIONAL = re.compile(r"(?<![A-Za-z0-9_$])\$[0-9]+")  # not a `$` inside an identifier


class ParameterError(ValueError):
    """A statement was given a name it does not use, or lacks one it needs."""


def _skip_quoted(sql: str, i: int, quote: str) -> int:
    """Index just past the quoted run starting at `i` (a doubled quote stays inside)."""
    j = i + 1
    while j < len(sql):
        if sql[j] == quote:
            if j + 1 < len(sql) and sql[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    return j


def _compile(sql: str) -> tuple[str, tuple[str, ...]]:
    out: list[str] = []
    names: list[str] = []
    i = 0
    while i < len(sql):
        ch = sql[i]
        if ch in "'\"":
            end = _skip_quoted(sql, i, ch)
            out.append(sql[i:end])
            i = end
        elif sql.startswith("--", i) or sql.startswith("/*", i):
            end = sql.find("\n" if ch == "-" else "*/", i + 2)
            end = len(sql) if end < 0 else end + (1 if ch == "-" else 2)
            out.append(sql[i:end])
            i = end
        elif (positional := _POSITIONAL.match(sql, i)) is not None:
            raise ParameterError(f"positional parameter {positional.group(0)} in a statement bound by name")
        elif ch == "$" and (tag := _DOLLAR_TAG.match(sql, i)) is not None:
            end = sql.find(tag.group(0), tag.end())
            end = len(sql) if end < 0 else end + len(tag.group(0))
            out.append(sql[i:end])
            i = end
        elif sql.startswith("::", i):
            out.append("::")
            i += 2
        elif ch == ":" and (name := _NAME.match(sql, i + 1)) is not None:
            if name.group(0) not in names:
                names.append(name.group(0))
            out.append(f"${names.index(name.group(0)) + 1}")
            i = name.end()
        else:
            out.append(ch)
            i += 1
    return "".join(out), tuple(names)


@dataclass(frozen=True, slots=True, init=False)
class Query:
    """One SQL statement with named parameters, compiled once to asyncpg's positional form."""

    sql: str
    text: str
    names: tuple[str, ...]

    def __init__(self, sql: str) -> None:
        text, names = _compile(sql)
        object.__setattr__(self, "sql", sql)
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "names", names)

    def args(self, values: Mapping[str, Any] | None = None, /, **named: Any) -> list[Any]:
        """The positional arguments for `text`, taken by name; ParameterError on a missing or extra name."""
        given = {**(values or {}), **named}
        missing = [n for n in self.names if n not in given]
        extra = sorted(set(given) - set(self.names))
        if missing or extra:
            raise ParameterError(
                f"the statement takes {', '.join(':' + n for n in self.names) or 'no parameters'}; "
                f"missing {missing or 'none'}, unknown {extra or 'none'}"
            )
        return [given[n] for n in self.names]


def names_in(sql: str) -> tuple[str, ...]:
    """The `:names` a piece of SQL binds, in order of first use (ParameterError on a positional `$n`)."""
    return _compile(sql)[1]


@dataclass(frozen=True, slots=True, init=False)
class Fragment:
    """SQL that statements embed (`f"... {FRAGMENT} ..."`), with the names it binds declared and checked.

    A name means one thing in every fragment (`:at` is always the instant T): a statement that embeds two
    fragments binds each shared name once.
    """

    sql: str
    needs: frozenset[str]

    def __init__(self, sql: str, *, needs: Iterable[str] = ()) -> None:
        declared, used = frozenset(needs), frozenset(names_in(sql))
        if declared != used:
            raise ParameterError(
                f"the fragment declares {sorted(declared)} but its SQL uses {sorted(used)}: "
                f"{sql.strip()[:80]!r}"
            )
        object.__setattr__(self, "sql", sql)
        object.__setattr__(self, "needs", declared)

    def __str__(self) -> str:
        return self.sql


async def fetch(conn: asyncpg.Connection, query: Query, /, **values: Any) -> list[asyncpg.Record]:
    """`conn.fetch` with named parameters."""
    rows: list[asyncpg.Record] = await conn.fetch(query.text, *query.args(values))
    return rows


async def fetchrow(conn: asyncpg.Connection, query: Query, /, **values: Any) -> asyncpg.Record | None:
    """`conn.fetchrow` with named parameters."""
    row: asyncpg.Record | None = await conn.fetchrow(query.text, *query.args(values))
    return row


async def fetchval(conn: asyncpg.Connection, query: Query, /, **values: Any) -> Any:
    """`conn.fetchval` with named parameters."""
    return await conn.fetchval(query.text, *query.args(values))


async def execute(conn: asyncpg.Connection, query: Query, /, **values: Any) -> str:
    """`conn.execute` with named parameters."""
    status: str = await conn.execute(query.text, *query.args(values))
    return status
