"""The API: Prometheus exporter, health and (later) KPIs, drill-downs and HTTP ingest."""
