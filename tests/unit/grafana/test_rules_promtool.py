"""Prometheus's own tools accept the rule files and run their unit tests (grafana/rules/tests/)."""

from __future__ import annotations

import subprocess

import yaml

from grafana.generator.__main__ import ROOT
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
