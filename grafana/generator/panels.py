"""Thin helpers over grafana-foundation-sdk: the panel kinds the boards use, with Trustline defaults."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import bargauge, common, stat, timeseries
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from trustline.shared.policy import Policy, load_policy
from trustline.shared.severity import SLA_SEVERITIES

# Every board picks its datasources through template variables, never a fixed uid: kube-prometheus-stack
# names its Prometheus `prometheus`, the local provisioning `trustline-prometheus`; Grafana preselects the
# default datasource of the type, and a viewer can switch.
PROMETHEUS_VARIABLE = "datasource"
POSTGRES_VARIABLE = "pg_datasource"
PROMETHEUS_TYPE = "prometheus"
POSTGRES_TYPE = "grafana-postgresql-datasource"
PROMETHEUS = dm.DataSourceRef(type_val=PROMETHEUS_TYPE, uid=f"${{{PROMETHEUS_VARIABLE}}}")
POSTGRES = dm.DataSourceRef(type_val=POSTGRES_TYPE, uid=f"${{{POSTGRES_VARIABLE}}}")
POLICY: Policy = load_policy()  # the shipped defaults: thresholds follow the policy out of the box
DAY = 86400
Steps = Sequence[tuple[float | None, str]]
GOOD_WHEN_HIGH: Steps = ((None, "red"), (0.9, "orange"), (0.95, "green"))
ZERO_IS_GOOD: Steps = ((None, "green"), (1, "red"))
AnyPanel = cogbuilder.Builder[dm.Panel]


@dataclass(frozen=True, slots=True)
class Q:
    """One PromQL query of a panel and its legend."""

    expr: str
    legend: str = ""


def thresholds(steps: Steps) -> db.ThresholdsConfig:
    """Absolute threshold steps (the first value is the base, None)."""
    return (
        db.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=v, color=c) for v, c in steps])
    )


def sla_override(panel: Any, *, scale: float) -> None:
    """Per-severity thresholds at each severity's SLA (series named after the severity)."""
    for severity in SLA_SEVERITIES:
        limit = POLICY.sla_days.days(severity) * scale
        steps = {
            "mode": "absolute",
            "steps": [{"value": None, "color": "green"}, {"value": limit, "color": "red"}],
        }
        panel.override_by_name(severity, [dm.DynamicConfigValue(id_val="thresholds", value=steps)])


def _targets(panel: Any, queries: Sequence[Q], *, instant: bool) -> None:
    for ref, q in zip("ABCDEFGH", queries, strict=False):
        target = prom.Dataquery().expr(q.expr).ref_id(ref).legend_format(q.legend or "__auto")
        panel.with_target(target.instant() if instant else target.range())


def stat_panel(
    title: str,
    description: str,
    queries: Sequence[Q],
    *,
    unit: str,
    steps: Steps = (),
    w: int = 6,
    h: int = 4,
) -> stat.Panel:
    """A big number (latest value), coloured by thresholds."""
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .unit(unit)
        .span(w)
        .height(h)
        .graph_mode(cm.BigValueGraphMode.NONE)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]))
    )
    if steps:
        panel.thresholds(thresholds(steps))
    _targets(panel, queries, instant=True)
    return panel


def trend_panel(
    title: str,
    description: str,
    queries: Sequence[Q],
    *,
    unit: str,
    steps: Steps = (),
    stacked: bool = False,
    w: int = 12,
    h: int = 8,
) -> timeseries.Panel:
    """A time series over the dashboard's range."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .unit(unit)
        .span(w)
        .height(h)
        .legend(common.VizLegendOptions().show_legend(True).display_mode(cm.LegendDisplayMode.LIST))
    )
    if stacked:
        panel.stacking(common.StackingConfig().mode(cm.StackingMode.NORMAL)).fill_opacity(40)
    if steps:
        panel.thresholds(thresholds(steps)).thresholds_style(
            common.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.DASHED)
        )
    _targets(panel, queries, instant=False)
    return panel


def bars_panel(
    title: str,
    description: str,
    queries: Sequence[Q],
    *,
    unit: str,
    steps: Steps = (),
    w: int = 12,
    h: int = 8,
) -> bargauge.Panel:
    """Horizontal bars, one per series (latest value): breakdowns by a label."""
    panel = (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .unit(unit)
        .span(w)
        .height(h)
        .display_mode(cm.BarGaugeDisplayMode.BASIC)
        .orientation(cm.VizOrientation.HORIZONTAL)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]))
    )
    if steps:
        panel.thresholds(thresholds(steps))
    _targets(panel, queries, instant=True)
    return panel


def datasource_variable(name: str, kind: str, label: str) -> db.DatasourceVariable:
    """A choice among the datasources of one type (Grafana preselects its default one)."""
    return db.DatasourceVariable(name).label(label).type(kind)


def business_unit_variable() -> db.QueryVariable:
    """Business units found in the exported series (multi-select, All = any)."""
    return (
        db.QueryVariable("business_unit")
        .label("Business unit")
        .datasource(PROMETHEUS)
        .query("label_values(business_unit)")
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(dm.VariableOption(selected=True, text="All", value="$__all"))
    )


def severity_variable() -> db.CustomVariable:
    """The SLA severities of the one risk language (info never counts)."""
    return (
        db.CustomVariable("severity")
        .label("Severity")
        .values(",".join(SLA_SEVERITIES))
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(dm.VariableOption(selected=True, text="All", value="$__all"))
    )


def window_variable() -> db.CustomVariable:
    """The rolling window of the remediation and incident families."""
    return (
        db.CustomVariable("window")
        .label("Window")
        .values("7d,30d,90d")
        .current(dm.VariableOption(selected=True, text="30d", value="30d"))
    )


def board(
    uid: str,
    title: str,
    description: str,
    rows: Sequence[tuple[str, Sequence[AnyPanel]]],
    *,
    variables: Sequence[cogbuilder.Builder[dm.VariableModel]] = (),
    time_from: str = "now-7d",
    postgres: bool = False,
) -> db.Dashboard:
    """A dashboard of titled rows; panel ids are numbered in order so the JSON is stable.

    Its first variable picks the datasource its panels read: Prometheus, or PostgreSQL (`postgres`)."""
    dash = (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["trustline"])
        .time(time_from, "now")
        .refresh("1m")
        .timezone("utc")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .readonly()
    )
    source = (
        datasource_variable(POSTGRES_VARIABLE, POSTGRES_TYPE, "PostgreSQL")
        if postgres
        else datasource_variable(PROMETHEUS_VARIABLE, PROMETHEUS_TYPE, "Prometheus")
    )
    for variable in (source, *variables):
        dash.with_variable(variable)
    next_id = 1
    for row_title, panels in rows:
        dash.with_row(db.Row(row_title).id(next_id))
        next_id += 1
        for panel in panels:
            panel.id(next_id)  # type: ignore[attr-defined]
            dash.with_panel(panel)
            next_id += 1
    return dash


def to_json(dash: db.Dashboard) -> str:
    """Stable JSON for committing: sorted keys, two-space indent, final newline."""
    return json.dumps(dash.build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"
