"""The API component: Prometheus exporter, health, KPIs, drill-downs, the risk register and HTTP ingest.

Routes validate and delegate; the registry and the metric definitions live in `trustline.shared`."""
