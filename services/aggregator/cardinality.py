"""The label-cardinality guard: at most N business units per snapshot, the rest folded into `other`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from .samples import Sample

OTHER = "other"
# Families whose samples combine by max rather than by sum when business units are folded together.
_MAX_FAMILIES = frozenset({"trustline_vulnerability_oldest_open_age_seconds"})
# What makes a business unit "large": its assets, identities and open findings.
_WEIGHT_FAMILIES = frozenset(
    {"trustline_edr_assets_expected", "trustline_identities", "trustline_vulnerabilities_open"}
)


def cap_business_units(samples: Iterable[Sample], limit: int) -> list[Sample]:
    """Keep the `limit - 1` largest business units (ties by name) and fold the others into `other`."""
    samples = list(samples)
    weight: dict[str, float] = defaultdict(float)
    for s in samples:
        bu = s.labels.get("business_unit")
        if bu is not None:
            weight[bu] += s.value if s.name in _WEIGHT_FAMILIES else 0.0
    if len(weight) <= limit:
        return samples
    # A unit really named `other` is never a kept slot: it joins the folded ones, so it appears once.
    ranked = sorted((bu for bu in weight if bu != OTHER), key=lambda bu: (-weight[bu], bu))
    kept = set(ranked[: limit - 1])
    folded: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    out: list[Sample] = []
    for s in samples:
        bu = s.labels.get("business_unit")
        if bu is None or bu in kept:
            out.append(s)
            continue
        key = (s.name, tuple(sorted({**s.labels, "business_unit": OTHER}.items())))
        if key not in folded:
            folded[key] = s.value
        elif s.name in _MAX_FAMILIES:
            folded[key] = max(folded[key], s.value)
        else:
            folded[key] += s.value
    out.extend(Sample(name, dict(labels), value) for (name, labels), value in folded.items())
    return out
