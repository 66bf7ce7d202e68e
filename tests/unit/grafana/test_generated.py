"""The committed boards and rule files are exactly what the generator produces, and only name real metrics."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from grafana.generator.__main__ import BOARDS, ROOT, main, render_all
from grafana.generator.rules import load_thresholds
from trustline.aggregator import loop, telemetry
from trustline.ingest import metrics as ingest_metrics
from trustline.shared.metrics.catalog import FAMILIES, family_of

NAME = re.compile(r"\btrustline_[a-z0-9_]+\b")
RUNBOOKS = ROOT.parent / "docs" / "runbooks.md"


def pipeline_sample_names() -> set[str]:
    """Sample names the ingest worker and the aggregator expose, from their own collectors."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    collectors = [ingest_metrics.EVENTS, ingest_metrics.DEAD_LETTERS, ingest_metrics.BATCH_SECONDS,
                  ingest_metrics.LAST_COMMIT, ingest_metrics.LAG, loop.DURATION, loop.LAST_SUCCESS,
                  telemetry.LABEL_VALUES_FOLDED]  # fmt: skip
    return {m.name + s for c in collectors for m in c.describe() for s in suffixes[m.type]}


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def queries() -> Iterator[str]:
    for name in BOARDS:
        board = json.loads((ROOT / "dashboards" / name).read_text())
        for panel in panels(board):
            for target in panel.get("targets", []):
                yield target.get("expr") or target["rawSql"]
    for name in ("recording.yaml", "alerts.yaml"):
        for group in yaml.safe_load((ROOT / "rules" / name).read_text())["groups"]:
            yield from (rule["expr"] for rule in group["rules"])


def test_committed_files_equal_the_generator_output() -> None:
    for path, text in render_all().items():
        assert path.exists(), f"{path} is missing: run `make dashboards`"
        assert path.read_text("utf-8") == text, f"{path} drifted from the generator: run `make dashboards`"


def test_every_metric_name_is_exported_by_trustline() -> None:
    known = pipeline_sample_names()
    used = {name for q in queries() for name in NAME.findall(q)}
    unknown = {n for n in used if family_of(n) is None and n not in known}
    assert not unknown, unknown
    # Every snapshot family of the contract shows somewhere.
    shown = {fam.name for n in used if (fam := family_of(n)) is not None}
    assert shown == set(FAMILIES)


def test_every_panel_is_described_and_ids_are_unique() -> None:
    for name in BOARDS:
        board = json.loads((ROOT / "dashboards" / name).read_text())
        ids = [p["id"] for p in panels(board)]
        assert len(ids) == len(set(ids)), name
        for panel in panels(board):
            if panel["type"] != "row":
                assert len(panel.get("description", "")) > 20, (name, panel["title"])
                assert panel["targets"], (name, panel["title"])


def test_every_alert_has_a_runbook_section() -> None:
    headings = {
        line[3:].strip().lower() for line in RUNBOOKS.read_text().splitlines() if line.startswith("## ")
    }
    for group in yaml.safe_load((ROOT / "rules" / "alerts.yaml").read_text())["groups"]:
        for rule in group["rules"]:
            annotations = rule["annotations"]
            assert annotations["summary"] and annotations["description"]
            anchor = annotations["runbook_url"].rsplit("#", 1)[1]
            assert anchor == rule["alert"].lower() and anchor in headings, rule["alert"]


def test_every_panel_reads_the_datasource_its_board_lets_the_viewer_pick() -> None:
    # No fixed uid: kube-prometheus-stack names its Prometheus `prometheus`, the local provisioning
    # `trustline-prometheus`; a fixed one would leave every panel empty on one of them.
    for name in BOARDS:
        board = json.loads((ROOT / "dashboards" / name).read_text())
        chosen = [v for v in board["templating"]["list"] if v["type"] == "datasource"]
        assert len(chosen) == 1, name
        uid = "${" + chosen[0]["name"] + "}"
        kinds = {"datasource": "prometheus", "pg_datasource": "grafana-postgresql-datasource"}
        assert chosen[0]["query"] == kinds[chosen[0]["name"]], name
        refs = [p["datasource"] for p in panels(board) if "datasource" in p]
        refs += [t["datasource"] for p in panels(board) for t in p.get("targets", []) if "datasource" in t]
        refs += [v["datasource"] for v in board["templating"]["list"] if "datasource" in v]
        assert refs and all(r["uid"] == uid and r["type"] == chosen[0]["query"] for r in refs), name
    assert "trustline-prometheus" not in "".join((ROOT / "dashboards" / n).read_text() for n in BOARDS)


def test_business_unit_and_severity_variables_filter_the_prometheus_boards() -> None:
    for name in BOARDS:
        board = json.loads((ROOT / "dashboards" / name).read_text())
        variables = {
            v["name"] for v in board.get("templating", {}).get("list", []) if v["type"] != "datasource"
        }
        exprs = " ".join(t.get("expr", "") for p in panels(board) for t in p.get("targets", []))
        for variable in variables:
            assert f"${variable}" in exprs, (name, variable)
        if name in ("overview.json", "vulnerabilities.json", "coverage.json"):
            assert {"business_unit", "severity"} <= variables, name


def test_provisioning_holds_no_secret() -> None:
    text = (ROOT / "provisioning" / "datasources" / "trustline.yaml").read_text()
    config = yaml.safe_load(text)
    postgres = next(d for d in config["datasources"] if d["uid"] == "trustline-postgres")
    assert postgres["secureJsonData"]["password"] == "${TRUSTLINE_GRAFANA_PG_PASSWORD}"
    assert Path(ROOT / "provisioning" / "dashboards" / "trustline.yaml").exists()


def test_the_runbook_base_url_can_be_set_for_one_generation(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = "https://runbooks.example.org/trustline/runbooks.md"
    alerts = yaml.safe_load(render_all(runbook_base_url=base)[ROOT / "rules" / "alerts.yaml"])
    rules = [r for group in alerts["groups"] for r in group["rules"]]
    assert rules and all(r["annotations"]["runbook_url"] == f"{base}#{r['alert'].lower()}" for r in rules)
    # `make dashboards` reads TRUSTLINE_RUNBOOK_BASE_URL: under another base only the alert rules (and the
    # chart's copy of them) differ from the committed ones (which keep the file's default); unset or empty, nothing does.
    monkeypatch.setenv("TRUSTLINE_RUNBOOK_BASE_URL", base)
    assert main(["--check"]) == 1
    assert capsys.readouterr().out == (
        "out of date: grafana/rules/alerts.yaml (run `make dashboards`)\n"
        "out of date: deploy/helm/trustline/files/rules/alerts.yaml (run `make dashboards`)\n"
    )
    monkeypatch.setenv("TRUSTLINE_RUNBOOK_BASE_URL", "")
    assert main(["--check"]) == 0


def test_a_runbook_base_url_must_name_the_document() -> None:
    for bad in ("https://wiki.example.org/runbooks#trustline", "docs/run books.md", ""):
        with pytest.raises(ValidationError):
            load_thresholds(runbook_base_url=bad)
