"""Prometheus's own tools accept the rule files and run their unit tests (grafana/rules/tests/)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from grafana.generator.__main__ import ROOT
from grafana.generator.rules import alert_rules, load_thresholds, to_yaml
from tests.helpers import prometheus_tool

RULES = sorted((ROOT / "rules").glob("*.yaml"))
RULE_TESTS = sorted((ROOT / "rules" / "tests").glob("*.yaml"))


def test_promtool_check_rules_passes() -> None:
    done = subprocess.run(
        [prometheus_tool("promtool"), "check", "rules", *map(str, RULES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert [p.name for p in RULES] == ["alerts.yaml", "recording.yaml"]


def test_promtool_rule_unit_tests_pass() -> None:
    # Every alert is tested at its boundary, firing and not firing; the recording rules for dedup and
    # empty populations. The test files hold the hand-worked expectations.
    assert {p.name for p in RULE_TESTS} == {
        "risk_alerts_test.yaml",
        "pipeline_alerts_test.yaml",
        "availability_alerts_test.yaml",
        "recording_test.yaml",
    }
    done = subprocess.run(
        [prometheus_tool("promtool"), "test", "rules", *map(str, RULE_TESTS)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_is_tested_firing_and_silent() -> None:
    alerts = {
        r["alert"]
        for g in yaml.safe_load((ROOT / "rules" / "alerts.yaml").read_text())["groups"]
        for r in g["rules"]
    }
    firing: set[str] = set()
    silent: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check["exp_alerts"] else silent).add(check["alertname"])
    assert firing == alerts and silent == alerts


def test_ignored_sources_never_alert_as_silent(tmp_path: Path) -> None:
    # Two sources last heard of at t=0; one is listed under source_silent.ignore (a retired tool whose
    # name holds regex metacharacters). At 1446m (past 86400 s + 5m) only the other one fires.
    base = load_thresholds()
    thresholds = base.model_copy(update={"source_silent": base.source_silent.model_copy(
        update={"ignore": ("old.scanner/prod",)})})  # fmt: skip
    (tmp_path / "alerts.yaml").write_text(to_yaml(alert_rules(thresholds)))
    ts = "trustline_source_last_event_timestamp_seconds"
    case = {
        "rule_files": ["alerts.yaml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                {"series": f'{ts}{{instance="api-1",source="old.scanner/prod"}}', "values": "0x1500"},
                {"series": f'{ts}{{instance="api-1",source="oldXscanner/prod"}}', "values": "0x1500"},
            ],
            "alert_rule_test": [{
                "eval_time": "1446m",
                "alertname": "TrustlineSourceSilent",
                "exp_alerts": [{
                    "exp_labels": {"severity": "warning", "source": "oldXscanner/prod"},
                    "exp_annotations": {
                        "summary": "No event from oldXscanner/prod for 1d 0h 6m 0s",
                        "description": "A feed went quiet: its controls are not failing, they are unobserved.",
                        "runbook_url": "docs/runbooks.md#trustlinesourcesilent",
                    },
                }],
            }],
        }],
    }  # fmt: skip
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(case))
    done = subprocess.run(
        [prometheus_tool("promtool"), "test", "rules", "test.yaml"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
