"""Incidents: time to acknowledge, contain and restore by severity, and what is open now."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from .panels import (
    DAY,
    ZERO_IS_GOOD,
    AnyPanel,
    Q,
    bars_panel,
    board,
    severity_variable,
    stat_panel,
    window_variable,
)
from .promql import SEV, count, mean, quantile

DURATION = "trustline_incident_duration_seconds"
WIN = 'window="$window"'
STAGES = (
    ("MTTA", "acknowledge", "acknowledgement"),
    ("MTTC", "contain", "containment"),
    ("MTTR", "restore", "service restored (or resolution when there was no restore step)"),
)


def _define(stage: str) -> str:
    return (
        f"Mean time from an incident's opening to its {stage}, over incidents that reached that stage in the "
        "window. Incidents without a severity are left out."
    )


def means() -> list[AnyPanel]:
    """The three mean times, overall and by severity."""
    panels: list[AnyPanel] = []
    for short, stage, words in STAGES:
        m = (f'stage="{stage}"', WIN, SEV)
        panels.append(stat_panel(short, _define(words), [Q(mean(DURATION, *m))], unit="s", w=4))
        panels.append(
            bars_panel(
                f"{short} by severity",
                _define(words),
                [Q(mean(DURATION, *m, by=["severity"]), "{{severity}}")],
                unit="s",
                w=4,
            )
        )
    return panels


def now() -> list[AnyPanel]:
    """Open incidents and the tail of restore times."""
    restore = ('stage="restore"', WIN, SEV)
    return [
        stat_panel(
            "Open incidents",
            "Incidents opened and not resolved.",
            [Q(count("trustline_incidents_open", SEV))],
            unit="short",
            steps=ZERO_IS_GOOD,
        ),
        bars_panel(
            "Open incidents by severity",
            "Incidents opened and not resolved, by their latest severity.",
            [Q(count("trustline_incidents_open", SEV, by=["severity"]), "{{severity}}")],
            unit="short",
            w=6,
        ),
        bars_panel(
            "Time to restore p90 by severity",
            "90th percentile (estimated from the histogram buckets) of opening to restore, over incidents "
            "restored in the window.",
            [Q(quantile(0.9, DURATION, *restore, by=["severity"]), "{{severity}}")],
            unit="s",
            steps=((None, "green"), (DAY, "red")),
            w=6,
        ),
        stat_panel(
            "Stage timestamps before opening",
            "Incident stages dated before the incident opened: left out of the durations, counted here so "
            "bad source data is visible.",
            [Q(count("trustline_incident_stage_errors"))],
            unit="short",
            steps=ZERO_IS_GOOD,
        ),
    ]


def dashboard() -> db.Dashboard:
    """The incidents board."""
    return board(
        "trustline-incidents",
        "Trustline / Incidents",
        "How fast incidents are acknowledged, contained and restored, by severity, and what is open now.",
        [("Mean times", means()), ("Now", now())],
        variables=[severity_variable(), window_variable()],
    )
