"""The API: Prometheus exporter, health, KPIs, drill-downs, the risk register and HTTP ingest."""
