"""Ingest: the wire contract, the site file, and the MQTT→Kafka bridge."""
