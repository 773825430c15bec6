"""Grafana as code: the dashboards (generated JSON), file provisioning and API provisioning."""
