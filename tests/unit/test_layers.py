"""The floor plan, checked on the import graph: components stand on `trustline.shared` and never on each
other; only the CLI, which composes them, may import them; `shared` imports no component.

The graph is read from the source (every import statement, function-level ones included, relative
imports resolved), so a new module or a new import is checked without anyone keeping a list.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Where each top-level part of the `trustline` namespace lives in the checkout.
PARTS = {"shared": ROOT / "shared"} | {p.name: p for p in (ROOT / "services").iterdir() if p.is_dir()}
COMPOSER = "cli"


def modules() -> Iterator[tuple[str, str, Path]]:
    """(part, dotted module name, path) of every module of the package."""
    for part, folder in PARTS.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            names = [n for n in rel.parts if n != "__init__"]
            yield part, ".".join(["trustline", part, *names]), path


def imported(module: str, path: Path) -> Iterator[str]:
    """Every `trustline.*` module `path` imports, relative imports resolved against `module`."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target
            yield from (f"{target}.{a.name}" for a in node.names)


def part_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "trustline" and parts[1] in PARTS else None


def edges() -> set[tuple[str, str, str]]:
    """(from part, to part, importing module) for every import that crosses parts."""
    found = set()
    for part, module, path in modules():
        for target in imported(module, path):
            other = part_of(target)
            if other is not None and other != part:
                found.add((part, other, module))
    return found


def test_the_graph_is_read_from_every_module() -> None:
    names = {m for _, m, _ in modules()}
    assert {"trustline.ingest.worker", "trustline.shared.metrics.snapshot", "trustline.cli.main"} <= names
    # The reader sees relative imports: the aggregator's loop reaches the metrics package.
    assert ("aggregator", "shared", "trustline.aggregator.loop") in edges()


def test_shared_imports_no_component() -> None:
    wrong = sorted(f"{m} imports trustline.{to}" for frm, to, m in edges() if frm == "shared")
    assert not wrong, wrong


def test_components_stand_on_shared_only() -> None:
    wrong = sorted(
        f"{m} imports trustline.{to}"
        for frm, to, m in edges()
        if frm not in ("shared", COMPOSER) and to != "shared"
    )
    assert not wrong, wrong
