"""Grafana boards and Prometheus rules for Trustline, generated as code (see grafana/README.md)."""
