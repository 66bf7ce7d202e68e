"""Every enumeration is written once: a `Literal` in one module, imported wherever it is needed.

Read from the source: a second `Literal` with the same values, or a tuple, list or set that spells out a
`Literal`'s values again, is a copy that can drift from the original.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

from fastapi.routing import APIRoute

from trustline.api.gaps.routes import router as gaps
from trustline.shared.events.schemas import OsFamily, Provider
from trustline.shared.severity import SlaSeverity

ROOT = Path(__file__).resolve().parents[2]
Values = frozenset[str]


def _strings(nodes: list[ast.expr]) -> Values | None:
    """The values when every node is a string constant, else None."""
    values = [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    return frozenset(values) if len(values) == len(nodes) else None


def _enumerations(tree: ast.AST) -> Iterator[tuple[str, int, Values]]:
    """('Literal' or 'collection', line, values) of every Literal and every collection of strings."""
    members_of_literals = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and getattr(node.value, "id", None) == "Literal":
            members_of_literals.add(id(node.slice))
            members = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if (values := _strings(members)) is not None and len(values) > 1:
                yield "Literal", node.lineno, values
        elif isinstance(node, ast.Tuple | ast.List | ast.Set) and len(node.elts) > 2:
            if id(node) in members_of_literals:
                continue
            if (values := _strings(node.elts)) is not None:
                yield "collection", node.lineno, values


def _found() -> tuple[dict[Values, list[str]], dict[Values, list[str]]]:
    literals: dict[Values, list[str]] = defaultdict(list)
    collections: dict[Values, list[str]] = defaultdict(list)
    for top in ("services", "shared"):
        for path in (ROOT / top).rglob("*.py"):
            for kind, line, values in _enumerations(ast.parse(path.read_text(), str(path))):
                where = f"{path.relative_to(ROOT)}:{line}"
                (literals if kind == "Literal" else collections)[values].append(where)
    return literals, collections


def test_no_literal_is_written_twice() -> None:
    literals, _ = _found()
    assert len(literals) > 10  # the reader sees the Literals that are there
    twice = {", ".join(sorted(v)): places for v, places in literals.items() if len(places) > 1}
    assert not twice, twice


def test_no_collection_spells_out_a_literal_again() -> None:
    literals, collections = _found()
    copies = {", ".join(sorted(v)): collections[v] for v in literals if v in collections}
    assert not copies, copies


def test_the_drill_down_filters_take_the_contracts_values() -> None:
    params = {
        (r.path, p.name): p.field_info.annotation
        for r in gaps.routes
        if isinstance(r, APIRoute)
        for p in r.dependant.query_params
    }
    assert get_args(params["/api/v1/gaps/edr-uncovered", "os_family"]) == (OsFamily, type(None))
    assert get_args(params["/api/v1/gaps/cloud-checks-failing", "provider"]) == (Provider, type(None))
    assert get_args(params["/api/v1/gaps/incidents-open", "severity"]) == (SlaSeverity, type(None))
