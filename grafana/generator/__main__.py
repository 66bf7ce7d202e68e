"""`python -m grafana.generator [--check]`: write (or verify) the committed boards and rule files."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.builders import dashboard as db

from . import coverage, incidents, overview, pipeline, trends, vulnerabilities
from .panels import to_json
from .rules import alert_rules, load_thresholds, recording_rules, to_yaml

ROOT = Path(__file__).resolve().parents[1]
# The Helm chart ships the same boards and rules (ConfigMaps, a PrometheusRule): copies kept in step here.
CHART_FILES = ROOT.parent / "deploy" / "helm" / "trustline" / "files"
# Where the published runbooks live, for this run only (the committed rules keep the file's default).
RUNBOOK_ENV = "TRUSTLINE_RUNBOOK_BASE_URL"
BOARDS: dict[str, Callable[[], db.Dashboard]] = {
    "overview.json": overview.dashboard,
    "vulnerabilities.json": vulnerabilities.dashboard,
    "coverage.json": coverage.dashboard,
    "incidents.json": incidents.dashboard,
    "pipeline.json": pipeline.dashboard,
    "board-trends.json": trends.dashboard,
}


def render_all(*, runbook_base_url: str | None = None) -> dict[Path, str]:
    """Every generated file (under grafana/, and its copy in the chart) and its content."""
    out = {ROOT / "dashboards" / name: to_json(make()) for name, make in BOARDS.items()}
    out[ROOT / "rules" / "recording.yaml"] = to_yaml(recording_rules())
    thresholds = load_thresholds(runbook_base_url=runbook_base_url)
    out[ROOT / "rules" / "alerts.yaml"] = to_yaml(alert_rules(thresholds))
    for path, text in list(out.items()):
        out[CHART_FILES / path.parent.name / path.name] = text
    return out


def main(argv: list[str]) -> int:
    """Write the files, or with --check report the ones that differ and fail."""
    rendered = render_all(runbook_base_url=os.environ.get(RUNBOOK_ENV) or None)
    stale = [p for p, text in rendered.items() if not p.exists() or p.read_text("utf-8") != text]
    if "--check" in argv:
        for path in stale:
            print(f"out of date: {path.relative_to(ROOT.parent)} (run `make dashboards`)")
        return 1 if stale else 0
    for path, text in rendered.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    chart = CHART_FILES.relative_to(ROOT.parent)
    print(f"wrote {len(BOARDS)} dashboards and 2 rule files under grafana/ and {chart}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
