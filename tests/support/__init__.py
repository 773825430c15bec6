"""Helpers that tests share for driving the real services: MQTT, Kafka, our processes."""
