"""Settings that are parsed, not just read: the MQTT URL and what is never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import ConfigError
from ingest.settings import MqttAddress, load_settings


def test_a_percent_encoded_password_may_hold_url_characters() -> None:
    address = MqttAddress.from_url("mqtts://pipe%40line:p%40ss%3Aw%2Fd@broker:8883")
    assert (address.username, address.password) == ("pipe@line", "p@ss:w/d")
    assert (address.host, address.port, address.tls) == ("broker", 8883, True)


def test_no_login_and_the_default_ports() -> None:
    plain = MqttAddress.from_url("mqtt://broker")
    assert (plain.username, plain.password, plain.port, plain.tls) == (None, None, 1883, False)


def test_a_bad_sasl_setting_never_echoes_the_password() -> None:
    with pytest.raises(ConfigError) as failed:
        load_settings(kafka_sasl_password=12345, kafka_security_protocol="SASL_SSL")
    assert "12345" not in str(failed.value)
    assert "OCC_KAFKA_SASL_PASSWORD" in str(failed.value)


def test_the_ca_for_mqtts_is_the_configured_file_or_the_system() -> None:
    assert load_settings().mqtt_ca_certs is None
    assert load_settings(mqtt_ca_file="/etc/occupancy/ca.pem").mqtt_ca_certs == (
        "/etc/occupancy/ca.pem"
    )


def test_secrets_come_from_files_in_the_secrets_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path
    (secrets / "occ_influx_token").write_text("from-a-file\n", encoding="utf-8")
    monkeypatch.setenv("OCC_SECRETS_DIR", str(secrets))
    monkeypatch.delenv("OCC_INFLUX_TOKEN", raising=False)
    assert load_settings().influx_token.get_secret_value() == "from-a-file"
    monkeypatch.setenv("OCC_INFLUX_TOKEN", "from-env")
    assert load_settings().influx_token.get_secret_value() == "from-env"


def test_a_missing_secrets_dir_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCC_SECRETS_DIR", f"{tmp_path}/nowhere")
    with pytest.raises(ConfigError, match=r"OCC_SECRETS_DIR is invalid: .*nowhere is not a dir"):
        load_settings()
