"""Every statement of the package binds by name.

Read from the checkout and from the imported modules: no call goes to the driver's positional API
(`conn.fetch("... $1", x)`), every `Query` and `Fragment` compiled without a positional `$n` (a leftover
one fails at import), each fragment's declared names are exactly the ones its SQL uses, no bare string
binds a name outside a `Query` or `Fragment`, and a name is cast to one type wherever it appears.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from trustline.shared.sql import Fragment, ParameterError, Query, names_in

ROOT = Path(__file__).resolve().parents[2]
# Every module of the package binds by name, except the helper itself and Alembic's migrations (DDL).
BOUND_BY_NAME = sorted(
    path
    for folder in (ROOT / "shared", ROOT / "services")
    for path in folder.rglob("*.py")
    if path != ROOT / "shared" / "sql.py" and "migrations" not in path.parts and path.name != "__main__.py"
)
# asyncpg's methods that take a statement and positional arguments.
_DRIVER = frozenset({"fetch", "fetchrow", "fetchval", "execute", "executemany", "cursor", "prepare"})
_CAST = re.compile(r"\$([0-9]+)::([A-Za-z0-9_]+(?:\[\])?)")


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = [p for p in rel.parts if p not in ("services", "__init__")]
    return ".".join(["trustline", *parts])


def driver_calls(source: str) -> list[str]:
    """Calls such as `conn.fetch("... $1", x)` that hand the driver a statement and arguments by position
    (a statement without arguments, say DDL, binds nothing)."""
    return [
        f"line {node.lineno}: .{node.func.attr}(...)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _DRIVER
        and len(node.args) > 1
    ]


def statements(module: ModuleType) -> Iterator[tuple[str, Query | Fragment]]:
    """The module's queries and fragments: its own, in its dicts, and in its objects (e.g. listings)."""
    for name, value in vars(module).items():
        inner = value.items() if isinstance(value, dict) else getattr(value, "__dict__", {}).items()
        if isinstance(value, Query | Fragment):
            yield name, value
        elif not isinstance(value, type | ModuleType):
            yield from ((f"{name}.{k}", v) for k, v in inner if isinstance(v, Query | Fragment))


def casts(query: Query) -> Iterator[tuple[str, str]]:
    """(name, type) for every `:name::type` in the statement."""
    for position, type_ in _CAST.findall(query.text):
        yield query.names[int(position) - 1], type_.lower()


def test_the_checks_catch_what_they_are_for() -> None:
    assert driver_calls("async def f(conn):\n    await conn.fetch('SELECT $1', 1)\n") == [
        "line 2: .fetch(...)"
    ]
    with pytest.raises(ParameterError, match="positional parameter \\$2"):
        Query("SELECT * FROM t WHERE a <= :at AND b = $2")
    with pytest.raises(ParameterError, match="declares \\['at'\\] but its SQL uses \\['at', 'kinds'\\]"):
        Fragment("t.at <= :at AND t.kind = ANY(:kinds)", needs=("at",))
    assert dict(casts(Query("SELECT :at::timestamptz, :kinds::TEXT[], :at"))) == {
        "at": "timestamptz",
        "kinds": "text[]",
    }


@pytest.mark.parametrize("path", BOUND_BY_NAME, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_statement_reaches_the_driver_by_position(path: Path) -> None:
    assert driver_calls(path.read_text()) == []


@pytest.mark.parametrize("path", BOUND_BY_NAME, ids=lambda p: str(p.relative_to(ROOT)))
def test_statements_bind_by_name_and_fragments_declare_their_names(path: Path) -> None:
    module = importlib.import_module(module_name(path))
    for name, statement in statements(module):
        if isinstance(statement, Fragment):
            assert set(names_in(statement.sql)) == statement.needs, name
        else:
            assert Query(statement.sql).text == statement.text, name
    for name, value in vars(module).items():
        if isinstance(value, str) and not name.startswith("__"):
            # SQL that binds a name is a Query or a Fragment, which say which names they take.
            assert names_in(value) == (), name


def test_a_name_has_one_type_wherever_it_is_cast() -> None:
    seen: dict[str, set[str]] = defaultdict(set)
    where: dict[str, set[str]] = defaultdict(set)
    count = 0
    for path in BOUND_BY_NAME:
        module = importlib.import_module(module_name(path))
        for name, statement in statements(module):
            if isinstance(statement, Query):
                count += 1
                for param, type_ in casts(statement):
                    seen[param].add(type_)
                    where[param].add(f"{module.__name__}.{name}")
    assert count >= 40  # the statements of these modules were found
    clashes = {p: (sorted(t), sorted(where[p])) for p, t in seen.items() if len(t) > 1}
    assert clashes == {}
