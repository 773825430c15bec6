"""Alerts: alert state machines and the channels that deliver them."""
