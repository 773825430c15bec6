"""The local stack without Docker: Mosquitto, Kafka (KRaft) and InfluxDB on loopback."""
