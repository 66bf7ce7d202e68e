"""Label-cardinality guards: at most N business units and N sources per snapshot, the rest as `other`.

Business units are ranked by size (assets, identities and open findings), sources by their newest event,
so the most recently active feeds keep their own series. Each guard also says how many label values it
folded, which the aggregator exports so that a cap in effect is visible (and alerted on).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .samples import Sample

OTHER = "other"
SOURCE_FAMILY = "trustline_source_last_event_timestamp_seconds"
# Families whose samples combine by max rather than by sum when label values are folded together.
_MAX_FAMILIES = frozenset({"trustline_vulnerability_oldest_open_age_seconds", SOURCE_FAMILY})
# What makes a business unit "large": its assets, identities and open findings.
_WEIGHT_FAMILIES = frozenset(
    {"trustline_edr_assets_expected", "trustline_identities", "trustline_vulnerabilities_open"}
)


@dataclass(frozen=True, slots=True)
class Capped:
    """Samples under one label's cap, and how many of that label's values lost their own series."""

    samples: list[Sample]
    folded: int


def cap_business_units(samples: Iterable[Sample], limit: int) -> Capped:
    """Keep the `limit - 1` largest business units (ties by name) and fold the others into `other`."""
    samples = list(samples)
    weight: dict[str, float] = defaultdict(float)
    for s in samples:
        bu = s.labels.get("business_unit")
        if bu is not None:
            weight[bu] += s.value if s.name in _WEIGHT_FAMILIES else 0.0
    return _cap(samples, "business_unit", limit, weight)


def cap_sources(samples: Iterable[Sample], limit: int) -> Capped:
    """Keep the `limit - 1` sources with the newest events (ties by name); `other` keeps the rest's newest."""
    samples = list(samples)
    newest: dict[str, float] = {}
    for s in samples:
        source = s.labels.get("source")
        if source is not None and s.name == SOURCE_FAMILY:
            newest[source] = max(s.value, newest.get(source, s.value))
    return _cap(samples, "source", limit, newest)


def _cap(samples: list[Sample], label: str, limit: int, score: Mapping[str, float]) -> Capped:
    if len(score) <= limit:
        return Capped(samples, 0)
    # A value really named `other` is never a kept slot: it joins the folded ones, so it appears once.
    ranked = sorted((v for v in score if v != OTHER), key=lambda v: (-score[v], v))
    kept = set(ranked[: limit - 1])
    folded: dict[tuple[str, tuple[tuple[str, str], ...]], Sample] = {}
    out: list[Sample] = []
    for s in samples:
        value = s.labels.get(label)
        if value is None or value in kept:
            out.append(s)
            continue
        key = (s.name, tuple(sorted({**s.labels, label: OTHER}.items())))
        folded[key] = _combine(folded.get(key), s)
    out.extend(Sample(name, dict(labels), s.value, s.slope) for (name, labels), s in folded.items())
    return Capped(out, len(ranked) - len(kept))


def _combine(into: Sample | None, s: Sample) -> Sample:
    """Two samples folded into one: the larger for a max family (with its slope), else their sum."""
    if into is None:
        return s
    if s.name in _MAX_FAMILIES:
        return s if s.value > into.value else into
    return Sample(s.name, s.labels, into.value + s.value, into.slope + s.slope)
