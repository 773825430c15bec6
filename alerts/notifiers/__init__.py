"""Alert channels behind one small protocol, one module per channel."""

from alerts.notifiers.base import Notifier
from alerts.notifiers.delivery import DeliveryQueue
from alerts.notifiers.fanout import Fanout
from alerts.notifiers.influx import InfluxNotifier
from alerts.notifiers.kafka import KafkaNotifier
from alerts.notifiers.mqtt import MqttNotifier
from alerts.notifiers.webhook import WebhookNotifier, sign, verify_signature

__all__ = [
    "DeliveryQueue",
    "Fanout",
    "InfluxNotifier",
    "KafkaNotifier",
    "MqttNotifier",
    "Notifier",
    "WebhookNotifier",
    "sign",
    "verify_signature",
]
