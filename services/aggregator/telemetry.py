"""The aggregator's own metrics on the label caps, served with its other pipeline metrics.

Kept apart from loop.py, which owns the pipeline metrics server and the timing metrics.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import Gauge

CAPPED_LABELS = ("business_unit", "source")
LABEL_VALUES_FOLDED = Gauge(
    "trustline_aggregation_label_values_folded",
    "Label values folded into `other` by the cardinality caps in the last snapshot stored",
    ["label"],
)


def record_folds(folded: Mapping[str, int]) -> None:
    """Report what the last stored snapshot folded, per capped label (0 when nothing)."""
    for label in CAPPED_LABELS:
        LABEL_VALUES_FOLDED.labels(label).set(folded.get(label, 0))


def forget_folds() -> None:
    """No series when this process no longer writes snapshots (the leader's figures are the true ones)."""
    LABEL_VALUES_FOLDED.clear()
