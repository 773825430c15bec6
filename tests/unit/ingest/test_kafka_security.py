"""Kafka TLS/SASL settings reach every client the pipeline makes.

There is no SASL or TLS Kafka broker here, so this checks the real aiokafka clients (built,
not started) and Faust's own translation of its credentials into aiokafka options; that a
broker accepts them is not tested.
"""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from ingest.errors import ConfigError
from ingest.kafka import broadcast_consumer, kafka_security, make_admin, make_producer
from ingest.settings import Settings, load_settings
from processors.app import build_app

PASSWORD = "kafka-secret-for-tests"


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kafka-ca")
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=kafka test CA"),
        ],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    return folder / "ca.crt"


def sasl_ssl(ca_file: Path) -> Settings:
    return load_settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="pipeline",
        kafka_sasl_password=PASSWORD,
        kafka_ssl_ca_file=ca_file,
    )


def client_options(settings: Settings) -> list[dict[str, Any]]:
    """What the producer, the broadcast consumer and the admin client were built with."""

    async def build() -> list[Any]:
        producer = make_producer(settings)
        consumer = broadcast_consumer(settings, "room-state")
        admin = make_admin(settings)
        return [producer.client, consumer._client, admin._client]

    return [
        {
            "security_protocol": client._security_protocol,
            "sasl_mechanism": client._sasl_mechanism,
            "sasl_plain_username": client._sasl_plain_username,
            "sasl_plain_password": client._sasl_plain_password,
            "ssl_context": client._ssl_context,
        }
        for client in asyncio.run(build())
    ]


def assert_verifies_with(context: ssl.SSLContext, ca_file: Path) -> None:
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    # Only the CA of OCC_KAFKA_SSL_CA_FILE: not the system's too.
    (trusted,) = context.get_ca_certs()
    assert "kafka test CA" in str(trusted["subject"]), ca_file


def test_sasl_ssl_reaches_the_producer_consumer_and_admin(ca_file: Path) -> None:
    for options in client_options(sasl_ssl(ca_file)):
        assert options["security_protocol"] == "SASL_SSL"
        assert options["sasl_mechanism"] == "SCRAM-SHA-512"
        assert options["sasl_plain_username"] == "pipeline"
        assert options["sasl_plain_password"] == PASSWORD
        assert_verifies_with(options["ssl_context"], ca_file)


def test_sasl_ssl_reaches_faust(ca_file: Path) -> None:
    app = build_app(sasl_ssl(ca_file))
    # The options Faust's aiokafka driver gives its consumer, producer and admin client.
    options = credentials_to_aiokafka_auth(app.conf.broker_credentials)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "pipeline"
    assert options["sasl_plain_password"] == PASSWORD
    assert_verifies_with(options["ssl_context"], ca_file)
    assert PASSWORD not in repr(app.conf.broker_credentials)


def test_ssl_alone_and_sasl_plaintext(ca_file: Path) -> None:
    tls = load_settings(kafka_security_protocol="SSL", kafka_ssl_ca_file=ca_file)
    assert set(kafka_security(tls)) == {"security_protocol", "ssl_context"}
    faust_tls = credentials_to_aiokafka_auth(build_app(tls).conf.broker_credentials)
    assert faust_tls["security_protocol"] == "SSL"
    assert_verifies_with(faust_tls["ssl_context"], ca_file)

    sasl = load_settings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username="pipeline",
        kafka_sasl_password=PASSWORD,
    )
    for options in client_options(sasl):
        assert options["security_protocol"] == "SASL_PLAINTEXT"
        assert options["sasl_mechanism"] == "PLAIN"
        assert options["ssl_context"] is None
    faust_sasl = credentials_to_aiokafka_auth(build_app(sasl).conf.broker_credentials)
    assert faust_sasl["security_protocol"] == "SASL_PLAINTEXT"
    assert faust_sasl["ssl_context"] is None


def test_plaintext_changes_nothing() -> None:
    settings = load_settings()
    assert kafka_security(settings) == {}
    assert build_app(settings).conf.broker_credentials is None
    for options in client_options(settings):
        assert options["security_protocol"] == "PLAINTEXT"
        assert options["sasl_plain_password"] is None


def test_the_sasl_password_is_never_shown(ca_file: Path) -> None:
    settings = sasl_ssl(ca_file)
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in str(settings.model_dump())


def test_mistakes_are_one_sentence_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="OCC_KAFKA_SASL_USERNAME is not set"):
        kafka_security(load_settings(kafka_security_protocol="SASL_SSL"))
    with pytest.raises(ConfigError, match=r"OCC_KAFKA_SSL_CA_FILE names .*not a readable CA file"):
        kafka_security(
            load_settings(kafka_security_protocol="SSL", kafka_ssl_ca_file=tmp_path / "none.crt")
        )
    with pytest.raises(ConfigError, match="OCC_KAFKA_SECURITY_PROTOCOL is invalid"):
        load_settings(kafka_security_protocol="TLS")
    with pytest.raises(ConfigError, match="OCC_KAFKA_SASL_MECHANISM is invalid"):
        load_settings(kafka_sasl_mechanism="GSSAPI")
