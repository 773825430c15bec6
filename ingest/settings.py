"""The one settings object: every `OCC_*` environment variable the pipeline reads."""

from __future__ import annotations

import os
import re
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Annotated
from urllib.parse import SplitResult, unquote, urlsplit

from pydantic import AwareDatetime, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.clock import Clock, parse_clock
from ingest.errors import ConfigError

_MQTT_SCHEMES = {"mqtt": 1883, "mqtts": 8883}


class Settings(BaseSettings):
    """Read from `OCC_*` environment variables (and a `.env` file when present)."""

    model_config = SettingsConfigDict(env_prefix="OCC_", env_file=".env", extra="ignore")

    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")] = (
        "occupancy"
    )
    mqtt_ca_file: Path | None = None  # the CA to trust for mqtts://; the system's when unset
    mqtt_password_file: Path | None = None  # Mosquitto's password_file (`occupancy devices`)
    mqtt_acl_file: Path | None = None  # Mosquitto's acl_file (`occupancy devices`)
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_topic_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,100}$")] = "occupancy"
    kafka_partitions: Annotated[int, Field(ge=1, le=1000)] = 6
    kafka_replication: Annotated[int, Field(ge=1, le=10)] = 1
    kafka_linger_ms: Annotated[int, Field(ge=0, le=1000)] = 5
    kafka_idempotence: bool = True  # off only for brokers without it (Tansu, in the demo)
    kafka_security_protocol: Annotated[
        str, Field(pattern=r"^(PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL)$")
    ] = "PLAINTEXT"
    kafka_sasl_mechanism: Annotated[
        str, Field(pattern=r"^(PLAIN|SCRAM-SHA-256|SCRAM-SHA-512)$")
    ] = "PLAIN"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr = SecretStr("")
    kafka_ssl_ca_file: Path | None = None  # the CA for SSL/SASL_SSL; the system's when unset

    influx_url: str | None = None  # metrics are off until it is set
    influx_token: SecretStr = SecretStr("")
    influx_org: str = "occupancy"
    influx_bucket: str = "occupancy/autogen"
    influx_batch_size: Annotated[int, Field(ge=1, le=50_000)] = 5000
    influx_flush_interval_ms: Annotated[int, Field(ge=10, le=600_000)] = 1000
    influx_timeout_ms: Annotated[int, Field(ge=100, le=600_000)] = 10_000
    influx_buffer_points: Annotated[int, Field(ge=1, le=10_000_000)] = 200_000
    influx_retry_max_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    metrics_heartbeat_s: Annotated[float, Field(gt=0, le=3600)] = 60.0
    metrics_pipeline_s: Annotated[float, Field(gt=0, le=3600)] = 10.0

    site_file: Path | None = None
    roster_file: Path | None = None

    grafana_url: str = "http://127.0.0.1:3000"
    grafana_token: SecretStr = SecretStr("")

    bridge_client_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] = "occupancy-bridge"
    bridge_stats_interval_s: Annotated[float, Field(gt=0)] = 30.0
    bridge_drain_timeout_s: Annotated[float, Field(gt=0)] = 30.0
    bridge_kafka_stall_s: Annotated[float, Field(ge=5)] = 30.0

    worker_data_dir: Path = Path(".run/worker")
    worker_store: Annotated[str, Field(pattern=r"^(auto|memory|rocksdb)$")] = "auto"
    worker_session_timeout_s: Annotated[float, Field(ge=6, le=300)] = 10.0
    # How long room states and table writes are gathered: a room's latest state per interval.
    worker_state_flush_s: Annotated[float, Field(gt=0, le=5)] = 0.05
    worker_stall_s: Annotated[float, Field(ge=0)] = 120.0  # 0: no stall watchdog
    # How often the worker logs the longest its event loop was held (`loop_lag`); 0: never.
    worker_loop_lag_s: Annotated[float, Field(ge=0)] = 60.0
    max_dwell_h: Annotated[float, Field(gt=0)] = 12.0
    sensor_offline_after_s: Annotated[float, Field(gt=0)] = 300.0
    board_port: Annotated[int, Field(ge=0, le=65535)] = 8080  # the worker's web board; 0: off
    board_host: str = "127.0.0.1"
    # Touched by the bridge and workers while they make progress; `occupancy health` reads it.
    health_file: Path | None = None

    alert_debounce_s: Annotated[float, Field(ge=0)] = 0.0
    alert_hysteresis: Annotated[int, Field(ge=0)] = 1
    alert_min_dwell_s: Annotated[float, Field(ge=0)] = 60.0
    alert_reminder_s: Annotated[float, Field(gt=0)] = 600.0
    alert_tick_s: Annotated[float, Field(gt=0)] = 15.0
    alert_forecast_horizon_s: Annotated[float, Field(ge=0)] = 900.0
    alert_forecast_min_span_s: Annotated[float, Field(ge=0)] = 120.0

    attendance_repeat_window_s: Annotated[float, Field(ge=0)] = 60.0
    attendance_max_clock_skew_s: Annotated[float, Field(gt=0)] = 900.0
    # Ended days the day-end close still visits (absentees marked), and late taps still amend.
    attendance_lookback_days: Annotated[int, Field(ge=1, le=31)] = 7
    # The first local date attendance is kept for: no day before it is closed, so a pipeline
    # started today does not mark everyone absent on the days it never saw. Unset: none.
    attendance_since: date | None = None
    # Days of daily attendance records kept (tables, `occupancy.attendance`); older are deleted.
    attendance_retention_days: Annotated[int, Field(ge=1, le=3650)] = 90
    # The key of the keyed hash that stands for an employee id outside the attendance tables
    # and reports (alerts, logs). Unset: a random key per process, so pseudonyms are not stable.
    pseudonym_key: SecretStr | None = None
    health_temperature_c: Annotated[float, Field(ge=30, le=45)] = 37.5
    headcount_over_plan_ratio: Annotated[float, Field(gt=0)] = 1.0

    webhook_url: SecretStr | None = None
    webhook_secret: SecretStr = SecretStr("")

    # What every process asks for the time: `wall`, or `replay:<start>@<speed>` to run the
    # pipeline through a simulated day (the demo, tests); see ingest/clock.py.
    clock: str = "wall"
    # The real instant a replay clock reads its start; processes of one run share it. Unset:
    # the moment the process first asks for the time.
    clock_anchor: AwareDatetime | None = None

    @field_validator("clock")
    @classmethod
    def _check_clock(cls, value: str) -> str:
        parse_clock(value)
        return value.strip()

    @cached_property
    def pipeline_clock(self) -> Clock:
        """The clock of `OCC_CLOCK`, built once per settings object (so an unanchored replay
        clock is anchored once)."""
        return parse_clock(self.clock, self.clock_anchor)

    def with_clock(self, clock: Clock) -> Settings:
        """A copy whose parts tell the time by `clock` (tests, benchmarks)."""
        copy = self.model_copy()
        copy.__dict__["pipeline_clock"] = clock
        return copy

    @field_validator("mqtt_url")
    @classmethod
    def _check_mqtt_url(cls, value: str) -> str:
        parts = _split(value)
        if parts.scheme not in _MQTT_SCHEMES or not parts.hostname:
            raise ValueError("must look like mqtt://[user:pass@]host[:port] or mqtts://…")
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
        _check_host(parts.hostname)
        return value

    @field_validator("kafka_bootstrap")
    @classmethod
    def _check_bootstrap(cls, value: str) -> str:
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not _is_port(port) or any(c in "/@ " for c in host):
                raise ValueError("must be a comma-separated list of host:port")
            _check_host(host)
        return value

    @field_validator("influx_url", "grafana_url")
    @classmethod
    def _check_http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = _split(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must look like http(s)://host[:port]")
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
        _check_host(parts.hostname)
        return value.rstrip("/")

    @property
    def mqtt_ca_certs(self) -> str | None:
        """`ca_certs` for paho's `tls_set`: OCC_MQTT_CA_FILE, or None for the system's CAs."""
        return str(self.mqtt_ca_file) if self.mqtt_ca_file is not None else None

    @property
    def mqtt(self) -> MqttAddress:
        return MqttAddress.from_url(self.mqtt_url)

    def kafka_topic(self, name: str) -> str:
        """The full Kafka topic name for a logical topic (`door`, `checkin`, …)."""
        return f"{self.kafka_topic_prefix}.{name}"


class MqttAddress:
    """Where and how to connect to the MQTT broker, split out of `OCC_MQTT_URL`."""

    def __init__(
        self, host: str, port: int, tls: bool, username: str | None, password: str | None
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.username = username
        self.password = password

    @classmethod
    def from_url(cls, url: str) -> MqttAddress:
        parts = urlsplit(url)
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or _MQTT_SCHEMES[parts.scheme],
            tls=parts.scheme == "mqtts",
            # Percent-encoded in the URL, so a password may hold `@`, `:` or `/`.
            username=unquote(parts.username) if parts.username is not None else None,
            password=unquote(parts.password) if parts.password is not None else None,
        )


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, or a ConfigError naming the variable at fault.

    With `OCC_SECRETS_DIR` (Docker or Kubernetes secrets, `/run/secrets`), a file there named
    for a setting (`occ_influx_token`) gives its value; the environment still wins.
    """
    secrets_dir = os.environ.get("OCC_SECRETS_DIR") or None
    if secrets_dir is not None and not Path(secrets_dir).is_dir():
        raise ConfigError(f"Setting OCC_SECRETS_DIR is invalid: {secrets_dir} is not a directory.")
    try:
        return Settings(_secrets_dir=secrets_dir, **overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        got = _redacted(field, error.get("input"))
        raise ConfigError(f"Setting OCC_{field.upper()} is invalid: {message}{got}.") from None


def _redacted(field: str, value: object) -> str:
    """What to echo of a bad value: nothing of a secret, no password out of a URL."""
    if field in _SECRET_FIELDS:
        return ""
    if isinstance(value, str) and field not in _PLAIN_FIELDS:
        # Keep the scheme and user; hide up to the last @ even where the value is no URL
        # (`user:pass@host` without its scheme, `[` in a host).
        value = _USERINFO.sub(lambda m: f"{m[1] or ''}{m[2] or ''}***@", value, count=1)
    return f" (got {value!r})"


_PLAIN_FIELDS = frozenset({"clock"})
"""Settings whose `@` is no user-info separator (`replay:<start>@<speed>`)."""

_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)?([^:@]*:)?.*@", re.DOTALL)


def _split(url: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError:  # urllib's message quotes the host, and a password with it
        raise ValueError("its host cannot be read") from None


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and 0 < int(text) < 65536


def _check_host(host: str) -> None:
    """Refuse a host name the socket library cannot encode: its UnicodeError is a
    ValueError, not an OSError, and would escape every connection retry."""
    try:
        host.encode("idna")
    except UnicodeError:
        raise ValueError(f"{host!r} is not a valid host name") from None


_SECRET_FIELDS = frozenset(
    {
        "influx_token",
        "grafana_token",
        "webhook_url",
        "webhook_secret",
        "kafka_sasl_password",
        "pseudonym_key",
    }
)
