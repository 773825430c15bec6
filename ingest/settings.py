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

    mqtt_url: Annotated[
        str,
        Field(
            description="The MQTT broker: `mqtt://[user:pass@]host[:port]`, `mqtts://` for TLS; "
            "a login in it is percent-encoded (`p%40ss` for `p@ss`)."
        ),
    ] = "mqtt://127.0.0.1:1883"
    mqtt_prefix: Annotated[
        str,
        Field(
            pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$",
            description="The first topic level(s) of every MQTT topic.",
        ),
    ] = "occupancy"
    mqtt_ca_file: Annotated[
        Path | None,
        Field(
            description="The CA to trust for `mqtts://` (the system's CAs when unset); the "
            "broker's certificate must name the host of `OCC_MQTT_URL`."
        ),
    ] = None
    mqtt_password_file: Annotated[
        Path | None,
        Field(
            description="Mosquitto's `password_file`, written by `occupancy devices add|remove`."
        ),
    ] = None
    mqtt_acl_file: Annotated[
        Path | None,
        Field(description="Mosquitto's `acl_file`, written by `occupancy devices add|remove`."),
    ] = None
    kafka_bootstrap: Annotated[
        str, Field(description="The Kafka brokers: a comma-separated list of `host:port`.")
    ] = "127.0.0.1:9092"
    kafka_topic_prefix: Annotated[
        str,
        Field(
            pattern=r"^[A-Za-z0-9_.-]{1,100}$",
            description="Kafka topics are `<prefix>.door`, `<prefix>.checkin` and so on; the "
            "workers' consumer group is `<prefix>-workers`.",
        ),
    ] = "occupancy"
    kafka_partitions: Annotated[
        int,
        Field(
            ge=1,
            le=1000,
            description="Partitions of the keyed topics when the pipeline creates them: the "
            "most workers that can share the work. It cannot simply be raised later.",
        ),
    ] = 6
    kafka_replication: Annotated[
        int,
        Field(
            ge=1,
            le=10,
            description="Replication factor of every topic the pipeline and Faust create "
            "(3 with three brokers or more).",
        ),
    ] = 1
    kafka_linger_ms: Annotated[
        int,
        Field(
            ge=0, le=1000, description="How long a producer waits to fill a batch before it sends."
        ),
    ] = 5
    kafka_idempotence: Annotated[
        bool,
        Field(
            description="Idempotent producers; `false` only for brokers without them (the "
            "demo's embedded Tansu)."
        ),
    ] = True
    kafka_security_protocol: Annotated[
        str,
        Field(
            pattern=r"^(PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL)$",
            description="How every Kafka client connects: `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` "
            "or `SASL_SSL`.",
        ),
    ] = "PLAINTEXT"
    kafka_sasl_mechanism: Annotated[
        str,
        Field(
            pattern=r"^(PLAIN|SCRAM-SHA-256|SCRAM-SHA-512)$",
            description="The SASL mechanism: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.",
        ),
    ] = "PLAIN"
    kafka_sasl_username: Annotated[
        str | None, Field(description="The SASL user name (required with `SASL_*`).")
    ] = None
    kafka_sasl_password: Annotated[
        SecretStr, Field(description="The SASL password (with `SASL_*`).")
    ] = SecretStr("")
    kafka_ssl_ca_file: Annotated[
        Path | None,
        Field(
            description="The CA for `SSL` and `SASL_SSL` (the system's CAs when unset); host "
            "names are verified."
        ),
    ] = None

    influx_url: Annotated[
        str | None,
        Field(
            description="InfluxDB's base URL (its v2 write API: InfluxDB 1.8+, 2.x, 3.x); "
            "metrics are off while it is unset."
        ),
    ] = None
    influx_token: Annotated[
        SecretStr, Field(description="The InfluxDB token (1.x: `user:password`, or empty).")
    ] = SecretStr("")
    influx_org: Annotated[str, Field(description="The InfluxDB organisation.")] = "occupancy"
    influx_bucket: Annotated[
        str,
        Field(
            description="The bucket metrics go to; on InfluxDB 1.x `database/retention policy`. "
            "The dashboards' database is the part before any `/`."
        ),
    ] = "occupancy/autogen"
    influx_batch_size: Annotated[
        int, Field(ge=1, le=50_000, description="Points per write to InfluxDB.")
    ] = 5000
    influx_flush_interval_ms: Annotated[
        int,
        Field(
            ge=10,
            le=600_000,
            description="How long points wait for a batch to fill before they are written.",
        ),
    ] = 1000
    influx_timeout_ms: Annotated[
        int, Field(ge=100, le=600_000, description="How long one write to InfluxDB may take.")
    ] = 10_000
    influx_buffer_points: Annotated[
        int,
        Field(
            ge=1,
            le=10_000_000,
            description="Points kept while InfluxDB does not answer; when full, the oldest "
            "are dropped and counted.",
        ),
    ] = 200_000
    influx_retry_max_s: Annotated[
        float,
        Field(
            gt=0,
            le=3600,
            description="The longest wait between two tries while InfluxDB does not answer.",
        ),
    ] = 30.0
    metrics_heartbeat_s: Annotated[
        float,
        Field(
            gt=0,
            le=3600,
            description="Every room and every attendance unit is written to InfluxDB at "
            "least this often, so the panels have no gaps.",
        ),
    ] = 60.0
    metrics_pipeline_s: Annotated[
        float,
        Field(
            gt=0,
            le=3600,
            description="How often each process writes its `pipeline` counters.",
        ),
    ] = 10.0

    site_file: Annotated[
        Path | None,
        Field(description="The site file: buildings, rooms, sensors, kiosks, policy levels."),
    ] = None
    roster_file: Annotated[
        Path | None,
        Field(description="The roster file; attendance runs only when it is set."),
    ] = None

    grafana_url: Annotated[
        str, Field(description="Grafana, for `occupancy grafana provision`.")
    ] = "http://127.0.0.1:3000"
    grafana_token: Annotated[
        SecretStr,
        Field(
            description="A Grafana service account token with the Admin role, for `occupancy "
            "grafana provision`."
        ),
    ] = SecretStr("")

    bridge_client_id: Annotated[
        str,
        Field(
            pattern=r"^[A-Za-z0-9_.-]{1,64}$",
            description="The bridge's MQTT client id, which names its persistent session: "
            "keep it fixed. The production Mosquitto uses the login's user name instead "
            "(`use_username_as_clientid`), so no other login can take the session.",
        ),
    ] = "occupancy-bridge"
    bridge_stats_interval_s: Annotated[
        float, Field(gt=0, description="How often the bridge logs its counters.")
    ] = 30.0
    bridge_drain_timeout_s: Annotated[
        float,
        Field(gt=0, description="How long a stopping bridge waits for Kafka to confirm."),
    ] = 30.0
    bridge_kafka_stall_s: Annotated[
        float,
        Field(
            ge=5,
            description="A Kafka producer that confirms nothing for this long is replaced, and "
            "the MQTT session restarted (the broker resends what was not acknowledged).",
        ),
    ] = 30.0

    worker_data_dir: Annotated[
        Path,
        Field(
            description="The worker's local table stores, one folder per deployment "
            "(`{OCC_KAFKA_TOPIC_PREFIX}-workers`) inside it; two workers on one machine "
            "need their own."
        ),
    ] = Path(".run/worker")
    worker_store: Annotated[
        str,
        Field(
            pattern=r"^(auto|memory|rocksdb)$",
            description="The table store: `rocksdb`, `memory`, or `auto` (RocksDB when installed).",
        ),
    ] = "auto"
    worker_session_timeout_s: Annotated[
        float,
        Field(
            ge=6,
            le=300,
            description="How long a worker that died holds its partitions before others "
            "take them over.",
        ),
    ] = 10.0
    worker_state_flush_s: Annotated[
        float,
        Field(
            gt=0,
            le=5,
            description="How long room states are gathered before they are sent (the latest "
            "per room).",
        ),
    ] = 0.05
    worker_stall_s: Annotated[
        float,
        Field(
            ge=0,
            description="A held partition with records waiting that does not move for this "
            "long stops the worker, for its supervisor to restart it (0: off).",
        ),
    ] = 120.0
    worker_loop_lag_s: Annotated[
        float,
        Field(
            ge=0,
            description="How often the worker logs the longest its event loop was held "
            "(`event=loop_lag`: worst wake-up, the loop's own share, stalls over 50 ms); 0: never.",
        ),
    ] = 60.0
    max_dwell_h: Annotated[
        float,
        Field(gt=0, description="A room with no door activity for this long is reset to zero."),
    ] = 12.0
    sensor_offline_after_s: Annotated[
        float,
        Field(gt=0, description="Silence after which a door sensor counts as offline."),
    ] = 300.0
    board_port: Annotated[
        int, Field(ge=0, le=65535, description="The port of the worker's web board (0: off).")
    ] = 8080
    board_host: Annotated[
        str,
        Field(
            description="The address the web board listens on; `0.0.0.0` for other machines "
            "(door tablets); add the name they use to OCC_BOARD_ALLOWED_HOSTS."
        ),
    ] = "127.0.0.1"
    users_file: Path | None = Field(
        default=None,
        description="The web board's accounts (names, roles, argon2 password hashes), kept "
        "by `occupancy users`. Unset: nobody can log in to the board; door signage still shows.",
    )
    board_session_key: SecretStr | None = Field(
        default=None,
        description="The key that encrypts and signs the board's session cookies (a Fernet "
        "key: `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key()"
        ".decode())'`); the same on every worker, so a login holds on any of them. Unset: a "
        "random key per worker, and a login holds only on the worker that made it.",
    )
    board_allowed_hosts: str = Field(
        default="127.0.0.1,localhost,::1",
        description="Comma-separated host names the board answers to (the Host header, and "
        "the Origin of every POST): a page of another site, or a DNS name rebound to this "
        "address, is refused. Add the name the board is reached by.",
    )
    board_secure_cookie: bool = Field(
        default=False,
        description="Send the session cookie only over HTTPS; set it when a TLS proxy is in front.",
    )
    board_session_max_age_s: float = Field(
        default=12 * 3600,
        gt=0,
        description="Seconds a board login lasts before the user logs in again.",
    )
    board_max_streams: int = Field(
        default=200,
        ge=1,
        description="Live pages (event streams) one worker's board serves at once; more are "
        "refused with 503 until one closes.",
    )
    board_login_delay_s: float = Field(
        default=1.0,
        ge=0,
        description="Seconds a failed board login waits before it answers (slows guessing).",
    )
    board_login_max_failures: int = Field(
        default=10,
        ge=1,
        description="Failed board logins in a row after which the account is locked.",
    )
    board_lockout_s: float = Field(
        default=900.0,
        gt=0,
        description="Seconds a board account stays locked after too many failed logins "
        "(`occupancy users passwd` unlocks it at once on its next login).",
    )
    board_show_names: bool = Field(
        default=False,
        description=(
            "Show employees by name (and id) on the board's attendance page and muster list; "
            "off, they are shown by pseudonym."
        ),
    )
    health_file: Annotated[
        Path | None,
        Field(
            description="Touched by the bridge and each worker while they make progress (at "
            "most once a second); `occupancy health` exits 0 while it is fresh (30 s by "
            "default), else 1 with one sentence: for container health checks."
        ),
    ] = None

    alert_debounce_s: Annotated[
        float,
        Field(
            ge=0,
            description="How long a room must be over its limit before its capacity alert "
            "turns critical.",
        ),
    ] = 0.0
    alert_hysteresis: Annotated[
        int,
        Field(ge=0, description="People below a level before that level is released."),
    ] = 1
    alert_min_dwell_s: Annotated[
        float,
        Field(ge=0, description="How long a release must hold before an alert resolves."),
    ] = 60.0
    alert_reminder_s: Annotated[
        float, Field(gt=0, description="The reminder interval while an alert is critical.")
    ] = 600.0
    alert_tick_s: Annotated[
        float,
        Field(
            gt=0,
            description="How often resets, silent sensors, day ends and rooms with an open "
            "alert are checked when no event comes.",
        ),
    ] = 15.0
    alert_forecast_horizon_s: Annotated[
        float,
        Field(ge=0, description="How far ahead a `capacity_forecast` looks (0: off)."),
    ] = 900.0
    alert_forecast_min_span_s: Annotated[
        float,
        Field(ge=0, description="How much history a trend needs before it forecasts."),
    ] = 120.0

    attendance_repeat_window_s: Annotated[
        float, Field(ge=0, description="Taps of the same action within this count once.")
    ] = 60.0
    attendance_max_clock_skew_s: Annotated[
        float,
        Field(
            gt=0,
            description="A kiosk clock further off than this (by `sent_at`, else `ts`, "
            "against the arrival) is flagged `clock_skew` and corrected.",
        ),
    ] = 900.0
    attendance_lookback_days: Annotated[
        int,
        Field(
            ge=1,
            le=31,
            description="Ended days the day-end close still visits (absentees marked) and "
            "late taps still amend; at most `OCC_ATTENDANCE_RETENTION_DAYS`.",
        ),
    ] = 7
    attendance_since: Annotated[
        date | None,
        Field(
            description="The first local date attendance is kept for: no day before it is "
            "closed, so a new deployment marks no one absent on days it never saw."
        ),
    ] = None
    attendance_retention_days: Annotated[
        int,
        Field(
            ge=1,
            le=3650,
            description="Daily attendance records older than this many days are deleted "
            "(the workers' tables and `occupancy.attendance`).",
        ),
    ] = 90
    pseudonym_key: Annotated[
        SecretStr | None,
        Field(
            description="The key of the pseudonyms that stand for employee ids in alerts, "
            "logs and dead-letter reasons (16 characters or more); the same for every worker "
            "and kept across restarts. Unset: a random key per process, with a warning."
        ),
    ] = None
    health_temperature_c: Annotated[
        float,
        Field(
            ge=30,
            le=45,
            description="A kiosk temperature at or above this raises `health_screening`.",
        ),
    ] = 37.5
    headcount_over_plan_ratio: Annotated[
        float,
        Field(
            gt=0,
            description="`building_headcount` is raised when the people in a building exceed "
            "this times those planned in its office today.",
        ),
    ] = 1.0

    webhook_url: Annotated[
        SecretStr | None,
        Field(
            description="Alerts are posted here as JSON signed per Standard Webhooks (unset: "
            "no webhook): `https://`, plain `http://` only to a loopback host."
        ),
    ] = None
    webhook_secret: Annotated[
        SecretStr,
        Field(
            description="The webhook's Standard Webhooks secret, `whsec_…` (`python -m "
            "deploy.examples.webhook_receiver --new-secret` makes one); the worker refuses to "
            "start with an empty or malformed one while a webhook is set."
        ),
    ] = SecretStr("")

    clock: Annotated[
        str,
        Field(
            description="What every process asks for the time: `wall`, or "
            "`replay:<start ISO 8601 with offset>@<speed>` to run the pipeline through a "
            "simulated day (the demo, tests)."
        ),
    ] = "wall"
    clock_anchor: Annotated[
        AwareDatetime | None,
        Field(
            description="The real instant a replay clock reads its start; give every process "
            "of one run the same. Unset: the moment the process first asks for the time."
        ),
    ] = None

    @field_validator("board_session_key")
    @classmethod
    def _check_session_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from cryptography.fernet import Fernet

            try:
                Fernet(value.get_secret_value())
            except ValueError:
                raise ValueError(
                    "must be a Fernet key (32 url-safe base64-encoded bytes)"
                ) from None
        return value

    @property
    def board_hosts(self) -> frozenset[str]:
        """OCC_BOARD_ALLOWED_HOSTS as host names, lower case, without brackets."""
        return frozenset(
            h.strip().strip("[]").lower() for h in self.board_allowed_hosts.split(",") if h.strip()
        )

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
        "board_session_key",
    }
)
