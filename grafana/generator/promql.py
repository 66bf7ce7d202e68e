"""PromQL building blocks shared by the dashboards and the recording rules (one definition per KPI).

Several API replicas serve the same snapshot, so every snapshot family is first collapsed across scrape
targets with `max without (instance, pod)` and only then summed: a KPI never counts a replica twice.
Ratios divide by `(denominator > 0)`, so an empty population gives no series rather than 0 or NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

REPLICA_LABELS = ("instance", "pod")
DAY_SECONDS = 86400
# Grafana's own day unit ("d") rescales to weeks and years; security debt reads best as plain days.
DAYS_UNIT = "suffix: days"
BU = 'business_unit=~"$business_unit"'
SEV = 'severity=~"$severity"'


def selector(metric: str, *matchers: str, offset: str = "") -> str:
    """`metric{m1,m2}` (no braces when there is no matcher), optionally offset."""
    given = [m for m in matchers if m]
    body = f"{metric}{{{','.join(given)}}}" if given else metric
    return f"{body} offset {offset}" if offset else body


def snap(metric: str, *matchers: str, offset: str = "") -> str:
    """One copy of a snapshot family, whichever replica served it."""
    return f"max without ({', '.join(REPLICA_LABELS)}) ({selector(metric, *matchers, offset=offset)})"


def total(expr: str, by: Sequence[str] = ()) -> str:
    """`sum by (...) (expr)`, or a plain sum when there is nothing to keep."""
    return f"sum by ({', '.join(by)}) ({expr})" if by else f"sum({expr})"


def ratio(numerator: str, denominator: str, by: Sequence[str] = ()) -> str:
    """Share of a population; absent (not 0) where the population is empty."""
    return f"{total(numerator, by)} / ({total(denominator, by)} > 0)"


def edr_coverage(*m: str, by: Sequence[str] = ()) -> str:
    """Covered over expected assets."""
    return ratio(snap("trustline_edr_assets_covered", *m), snap("trustline_edr_assets_expected", *m), by)


def mfa_coverage(*m: str, population: str = "privileged", strength: str = "", by: Sequence[str] = ()) -> str:
    """Active identities with a factor (of one strength when given) over active identities."""
    pop = f'population="{population}"'
    num = snap("trustline_identities_mfa", pop, f'strength="{strength}"' if strength else "", *m)
    return ratio(num, snap("trustline_identities", pop, *m), by)


def cloud_compliance(*m: str, by: Sequence[str] = ()) -> str:
    """Passing over passing plus failing checks (accepted ones are neither)."""
    checks = "trustline_cloud_config_checks"
    return ratio(snap(checks, 'status="pass"', *m), snap(checks, 'status=~"pass|fail"', *m), by)


def patch_sla(*m: str, window: str = "30d", by: Sequence[str] = ()) -> str:
    """Remediations within SLA over all remediations closed in the window."""
    fam, w = "trustline_patch_remediations", f'window="{window}"'
    return ratio(snap(fam, 'sla="met"', w, *m), snap(fam, w, *m), by)


def mean(histogram: str, *m: str, by: Sequence[str] = ()) -> str:
    """Mean of a histogram family: `_sum` over `_count`."""
    return ratio(snap(f"{histogram}_sum", *m), snap(f"{histogram}_count", *m), by)


def quantile(q: float, histogram: str, *m: str, by: Sequence[str] = ()) -> str:
    """Bucket-estimated quantile, only where the histogram counted something."""
    buckets = total(snap(f"{histogram}_bucket", *m), (*by, "le"))
    counted = f"{total(snap(f'{histogram}_count', *m), by)} > 0"
    return f"histogram_quantile({q}, {buckets}) and on ({', '.join(by)}) ({counted})"


def count(metric: str, *m: str, by: Sequence[str] = ()) -> str:
    """A deduplicated count summed over the kept labels."""
    return total(snap(metric, *m), by)


def in_days(expr: str) -> str:
    """A family exported in seconds (the Prometheus base unit), shown in days."""
    return f"{expr} / {DAY_SECONDS}"
