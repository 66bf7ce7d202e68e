"""Pipeline health: is data flowing, being refused, falling behind, or going stale?"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from .panels import AnyPanel, Q, bars_panel, board, stat_panel, trend_panel
from .rules import FOLDED_EXPR, Thresholds, components_up, load_thresholds

RATE = "$__rate_interval"


def ingest(t: Thresholds) -> list[AnyPanel]:
    """The ingest workers (each counts only what it handled, so plain sums are right)."""
    lag = "sum by (topic) (max by (topic, partition) (trustline_ingest_consumer_lag))"
    return [
        trend_panel(
            "Ingest rate by outcome",
            "Records handled per second by all ingest workers: stored, duplicate (already stored: counted "
            "once) and dead_lettered (refused).",
            [Q(f"sum by (outcome) (rate(trustline_ingest_events_total[{RATE}]))", "{{outcome}}")],
            unit="ops",
            stacked=True,
        ),
        trend_panel(
            "Dead letters by reason",
            "Records sent to <topic>.dlq per interval, by topic and reason (invalid_json, invalid_envelope, "
            "unknown_type, type_not_allowed_on_topic, invalid_data, time_out_of_range, too_large).",
            [
                Q(
                    f"sum by (topic, reason) (increase(trustline_ingest_dead_letter_total[{RATE}]))",
                    "{{topic}} {{reason}}",
                )
            ],
            unit="short",
        ),
        trend_panel(
            "Consumer lag by topic",
            "Records behind the end of each partition, summed per topic (the latest report per partition, "
            "whichever worker holds it).",
            [Q(lag, "{{topic}}")],
            unit="short",
            steps=((None, "green"), (t.consumer_lag.above, "red")),
        ),
        *batches(),
    ]


def batches() -> list[AnyPanel]:
    """How long a batch takes and when offsets last moved."""
    return [
        trend_panel(
            "Batch duration p90",
            "90th percentile (from the histogram buckets) of the time to store, dead-letter and commit one "
            "batch.",
            [
                Q(
                    f"histogram_quantile(0.9, sum by (le) (rate(trustline_ingest_batch_duration_seconds_bucket[{RATE}])))",  # noqa: E501
                    "p90",
                )
            ],
            unit="s",
        ),
        stat_panel(
            "Since the last offset commit",
            "Seconds since any ingest worker last committed offsets (idle when no records arrive).",
            [Q("time() - max(trustline_ingest_last_commit_timestamp_seconds)")],
            unit="s",
        ),
    ]


def freshness(t: Thresholds) -> list[AnyPanel]:
    """Are sources and snapshots current?"""
    silent = t.source_silent.after_seconds
    return [
        bars_panel(
            "Feed freshness by source",
            "Seconds since the newest event (by event time) of each source. A silent feed shows here, not as "
            "a failing control. Red at the TrustlineSourceSilent threshold.",
            [Q("time() - max by (source) (trustline_source_last_event_timestamp_seconds)", "{{source}}")],
            unit="s",
            steps=((None, "green"), (silent, "red")),
        ),
        trend_panel(
            "Snapshot staleness by API replica",
            "Now minus the instant T of the snapshot each API replica serves. Red at the "
            "TrustlineSnapshotStale "
            "threshold.",
            [Q("time() - trustline_snapshot_timestamp_seconds", "{{instance}}")],
            unit="s",
            steps=((None, "green"), (t.snapshot_stale.after_seconds, "red")),
        ),
        trend_panel(
            "Aggregation duration",
            "Mean time to compute and store one snapshot, per interval.",
            [
                Q(
                    f"sum(rate(trustline_aggregation_duration_seconds_sum[{RATE}])) / "
                    f"sum(rate(trustline_aggregation_duration_seconds_count[{RATE}]))",
                    "mean",
                )
            ],
            unit="s",
        ),
        stat_panel(
            "Since the last stored snapshot",
            "Seconds since the aggregator leader last stored a snapshot.",
            [Q("time() - max(trustline_aggregation_last_success_timestamp_seconds)")],
            unit="s",
            steps=((None, "green"), (t.aggregation_stale.after_seconds, "red")),
        ),
        bars_panel(
            "Components up",
            "Per scrape target of the Trustline jobs: 1 when Prometheus scraped it at its last attempt, 0 "
            "when it could not (TrustlineComponentDown after a while).",
            [Q(components_up(t), "{{job}} {{instance}}")],
            unit="short",
            steps=((None, "red"), (1, "green")),
        ),
        bars_panel(
            "Label values folded into other",
            "Business units and sources beyond their caps (TRUSTLINE_MAX_BUSINESS_UNITS, "
            "TRUSTLINE_MAX_SOURCES) in the last snapshot: they share the `other` series. Red as soon as any "
            "is folded (TrustlineLabelCapReached).",
            [Q(FOLDED_EXPR, "{{label}}")],
            unit="short",
            steps=((None, "green"), (t.label_cap.above + 1, "red")),
        ),
    ]


def dashboard() -> db.Dashboard:
    """The pipeline-health board."""
    t = load_thresholds()
    return board(
        "trustline-pipeline",
        "Trustline / Pipeline health",
        "Ingest rate, dead letters, consumer lag, feed freshness per source, snapshot staleness and "
        "aggregation time.",
        [("Ingest", ingest(t)), ("Freshness", freshness(t))],
        time_from="now-6h",
    )
