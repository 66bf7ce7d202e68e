"""Rendering a snapshot: families typed as the catalog says, every sample kept."""

from __future__ import annotations

import gzip

from prometheus_client.parser import text_string_to_metric_families

from trustline.api.metrics.exposition import GzipPrefix, render
from trustline.shared.metrics.samples import DURATION_BUCKETS, Sample, histogram


def test_histogram_and_gauges_render_with_their_types() -> None:
    labels = {"business_unit": "retail", "severity": "high", "window": "7d"}
    counts = [0] * 4 + [2] * (len(DURATION_BUCKETS) - 4)
    samples = [
        *histogram("trustline_time_to_patch_seconds", labels, counts, 2, 500000.0),
        Sample("trustline_patch_remediations", {**labels, "sla": "met"}, 2),
        Sample("trustline_snapshot_timestamp_seconds", {}, 1700000000.0),
        Sample("trustline_not_in_the_catalog", {}, 1),
    ]
    families = {f.name: f for f in text_string_to_metric_families(render(samples).decode())}
    assert {n: f.type for n, f in families.items()} == {
        "trustline_time_to_patch_seconds": "histogram",
        "trustline_patch_remediations": "gauge",
        "trustline_snapshot_timestamp_seconds": "gauge",
    }
    hist = families["trustline_time_to_patch_seconds"].samples
    buckets = [s for s in hist if s.name.endswith("_bucket")]
    assert len(buckets) == len(DURATION_BUCKETS) + 1 and buckets[-1].labels["le"] == "+Inf"
    assert {s.name: s.value for s in hist if not s.name.endswith("_bucket")} == {
        "trustline_time_to_patch_seconds_count": 2,
        "trustline_time_to_patch_seconds_sum": 500000.0,
    }


def test_gzip_prefix_is_one_complete_stream_per_response() -> None:
    head = b"".join(b'trustline_x{i="%d"} 1\n' % i for i in range(5000))
    prefix = GzipPrefix(head)
    first, second = prefix.with_tail(b"own 1\n"), prefix.with_tail(b"own 2\n")
    assert gzip.decompress(first) == head + b"own 1\n"
    assert gzip.decompress(second) == head + b"own 2\n"  # the compressed head is reused, not consumed
    assert len(first) < len(head) / 5
    assert gzip.decompress(GzipPrefix(b"").with_tail(b"")) == b""
