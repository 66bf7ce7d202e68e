"""Samples of a snapshot and the pure helpers that build them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

# Upper bounds (seconds) shared by every duration histogram of the contract.
DURATION_BUCKETS: Final = (
    3600,
    14400,
    86400,
    259200,
    604800,
    1209600,
    2592000,
    5184000,
    7776000,
    15552000,
    31536000,
)
# The windows of the windowed metrics (remediations, incident stages), as their `window` label says them.
Window = Literal["7d", "30d", "90d"]
WINDOWS: Final[dict[Window, int]] = {"7d": 7 * 86400, "30d": 30 * 86400, "90d": 90 * 86400}


@dataclass(frozen=True, slots=True)
class Sample:
    """One exported sample: full metric name (with any _bucket/_sum/_count suffix), labels, value.

    `slope` says how the value moves with the clock alone, per second, while the estate does not change
    (1 for an age or a timestamp, the number of breached findings for a debt, 0 for counts). The history
    uses it to store such a value once per change rather than once per snapshot; it is not exported
    and two samples that differ only in it are equal.
    """

    name: str
    labels: Mapping[str, str]
    value: float
    slope: float = field(default=0.0, compare=False)


def histogram(
    name: str, labels: Mapping[str, str], counts: Iterable[int], total: int, sum_: float
) -> list[Sample]:
    """Samples of one histogram series from per-bucket cumulative counts (every bucket, +Inf last)."""
    out = [
        Sample(f"{name}_bucket", {**labels, "le": f"{float(le)}"}, float(c))
        for le, c in zip(DURATION_BUCKETS, counts, strict=True)
    ]
    out.append(Sample(f"{name}_bucket", {**labels, "le": "+Inf"}, float(total)))
    out.append(Sample(f"{name}_count", dict(labels), float(total)))
    out.append(Sample(f"{name}_sum", dict(labels), float(sum_)))
    return out
