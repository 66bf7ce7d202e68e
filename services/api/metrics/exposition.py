"""Render a snapshot's samples in the Prometheus text format, once per snapshot (pure)."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample as PromSample

from trustline.shared.metrics.catalog import family_of
from trustline.shared.metrics.samples import Sample


class _Families(Collector):
    def __init__(self, metrics: Sequence[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self._metrics


def _exposition_order(s: PromSample) -> tuple[list[tuple[str, str]], str, float]:
    # Series by labels; within a histogram series, buckets by ascending `le`, then _count and _sum.
    le = s.labels.get("le")
    return sorted((k, v) for k, v in s.labels.items() if k != "le"), s.name, float(le) if le else 0.0


def families(samples: Iterable[Sample]) -> Iterator[Metric]:
    """Group samples into the catalog's families; samples of unknown families are left out."""
    by_name: dict[str, Metric] = {}
    for s in samples:
        fam = family_of(s.name)
        if fam is None:
            continue
        metric = by_name.get(fam.name)
        if metric is None:
            metric = by_name[fam.name] = Metric(fam.name, fam.help, fam.type)
        metric.add_sample(s.name, dict(s.labels), s.value)
    for name in sorted(by_name):
        metric = by_name[name]
        metric.samples.sort(key=_exposition_order)
        yield metric


def render(samples: Iterable[Sample]) -> bytes:
    """The exposition text of one snapshot."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(list(families(samples))))
    return generate_latest(registry)


class GzipPrefix:
    """A gzip stream whose large head (the snapshot) is compressed once; each response only adds its tail."""

    def __init__(self, head: bytes, level: int = 6) -> None:
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        self._head = self._compressor.compress(head)

    def with_tail(self, tail: bytes) -> bytes:
        """One complete gzip member of head + tail (the compressor state is copied, never consumed)."""
        compressor = self._compressor.copy()
        return self._head + compressor.compress(tail) + compressor.flush()
