"""Generates the dashboards and Prometheus rules committed under grafana/ (`make dashboards`)."""
