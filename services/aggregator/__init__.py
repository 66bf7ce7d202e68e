"""Aggregator: snapshots of every metric as of an instant, written to the metric history."""
