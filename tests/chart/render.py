"""Render and lint the chart with helm-python-sdk (Helm's Go library, no helm binary)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "trustline"
VALUES = Path(__file__).parent / "values"
MATRIX = sorted(p.stem for p in VALUES.glob("*.yaml"))
RELEASE, NAMESPACE = "tl", "trustline"


def values(name: str) -> dict[str, Any]:
    """A value file of the matrix."""
    loaded: dict[str, Any] = yaml.safe_load((VALUES / f"{name}.yaml").read_text())
    return loaded


def render(given: dict[str, Any]) -> list[dict[str, Any]]:
    """Every object the chart renders for `given` (NOTES.txt aside)."""
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(given)
        manifests = chart.render(values=given, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects = []
    for path, text in manifests.items():
        if path.endswith("NOTES.txt"):
            continue
        objects += [doc for doc in yaml.safe_load_all(text) if doc]
    return objects


def lint(given: dict[str, Any]) -> dict[str, Any]:
    """helm lint --strict of the chart with `given`."""
    return helm.lint(CHART, given, strict=True, namespace=NAMESPACE, kube_version="v1.30.0")


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """The objects of one kind by name."""
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}
