"""deploy/docker-compose.yml and deploy/Dockerfile, checked without Docker (none runs here).

The file is parsed as YAML and held against the repository: every path it mounts or builds
from exists, Grafana gets the provisioning and every dashboard, Mosquitto runs the production
config with its logins, ACL and certificates mounted where that config looks, the `OCC_*`
variables are real settings, the commands (health checks too) are real `occupancy` commands,
no secret is written in the file, and the names the services share agree. Mosquitto's health
check command is run against a real Mosquitto with the production config.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path, PurePosixPath
from typing import Any

import click
import pytest
import yaml

from deploy.cli import main
from deploy.grafana import dashboards as dash
from deploy.kafka_acls import ACCOUNTS
from deploy.worker import worker_client_id
from ingest.settings import Settings, load_settings
from ingest.topics import AlertsTopic
from tests.system.deploy.test_mqtt_security import CONF, Broker, broker  # noqa: F401 - a fixture

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
REPO = DEPLOY.parent
PIPELINE = ("bridge", "worker-1", "worker-2")
WORKERS = ("worker-1", "worker-2")
# What the operator makes on the production host; in the repository only a README says how.
OPERATOR_FOLDERS = {
    DEPLOY / "secrets",
    DEPLOY / "board",
    DEPLOY / "mosquitto" / "auth",
    DEPLOY / "mosquitto" / "certs",
    DEPLOY / "kafka" / "certs",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def _long_running(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What `up` starts and keeps running (not one-off jobs, not on-demand profiles)."""
    return {
        name: service
        for name, service in _services(compose).items()
        if "profiles" not in service and service.get("restart", "no") != "no"
    }


def _binds(service: dict[str, Any]) -> dict[str, Path]:
    """Container path → host path of the service's bind mounts (short syntax)."""
    binds = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith((".", "/")):
            binds[target] = (DEPLOY / source).resolve()
    return binds


def _named_volumes(service: dict[str, Any]) -> dict[str, str]:
    """Container path → named volume."""
    volumes = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if not source.startswith((".", "/")):
            volumes[target] = source
    return volumes


def _host_path(service: dict[str, Any], inside: str) -> Path | None:
    """The host path a container path of the service is bind-mounted from, if it is."""
    path = PurePosixPath(inside)
    for target, source in _binds(service).items():
        if path == PurePosixPath(target) or PurePosixPath(target) in path.parents:
            return source.joinpath(*path.relative_to(target).parts)
    return None


def _env(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in service.get("environment", {}).items()}


def _mosquitto_conf() -> dict[str, list[str]]:
    """Directive → its values, in order, of deploy/mosquitto/mosquitto.conf."""
    directives: dict[str, list[str]] = {}
    for line in _uncommented(CONF.read_text(encoding="utf-8")):
        if line.strip():
            key, _, value = line.strip().partition(" ")
            directives.setdefault(key, []).append(value.strip())
    return directives


def _operator_file(path: Path) -> bool:
    """In a folder the operator fills, kept out of git and out of the image."""
    return path.parent in OPERATOR_FOLDERS


def test_the_stack_has_every_service(compose: dict[str, Any]) -> None:
    services = _services(compose)
    expected = {"mosquitto", "kafka", "influxdb", "influxdb-dbrp", "grafana", *PIPELINE}
    assert expected <= set(services)
    assert set(_long_running(compose)) == expected - {"influxdb-dbrp"}
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["influxdb"]["image"].startswith("influxdb:2")
    assert services["mosquitto"]["image"].startswith("eclipse-mosquitto:2")
    # `occupancy devices` on demand, never started by `up`.
    assert services["admin"]["profiles"] == ["admin"]


def test_the_ports_the_code_and_the_readme_expect(compose: dict[str, Any]) -> None:
    services = _services(compose)
    published = {name: s.get("ports", []) for name, s in services.items() if s.get("ports")}
    assert published == {
        "mosquitto": ["8883:8883"],  # TLS only: no 1883
        "grafana": ["3000:3000"],
        "worker-1": ["127.0.0.1::8080"],  # the board has no login: loopback only
        "worker-2": ["127.0.0.1::8080"],
    }
    assert _env(services["worker-1"])["OCC_BOARD_HOST"] == "0.0.0.0"
    assert Settings.model_fields["board_port"].default == 8080


def test_every_bind_mount_source_exists(compose: dict[str, Any]) -> None:
    mounts = 0
    for name, service in _services(compose).items():
        for target, source in _binds(service).items():
            assert source.exists(), f"{name}: {source} (mounted at {target}) is not in the repo"
            assert source.is_relative_to(DEPLOY), f"{name}: {source} is outside deploy/"
            mounts += 1
    assert mounts >= 8
    for volume in {
        v.split(":")[0] for s in _services(compose).values() for v in s.get("volumes", [])
    }:
        if not volume.startswith((".", "/")):
            assert volume in compose["volumes"], f"named volume {volume} is not declared"


def test_mosquitto_runs_the_production_config_with_its_files_mounted(
    compose: dict[str, Any],
) -> None:
    mosquitto = _services(compose)["mosquitto"]
    binds = _binds(mosquitto)
    assert binds["/mosquitto/config/mosquitto.conf"] == CONF
    assert "configs" not in mosquitto, "an inline config instead of the production one"
    conf = _mosquitto_conf()
    assert conf["allow_anonymous"] == ["false"]
    assert conf["per_listener_settings"] == ["false"]
    assert conf["listener"] == ["8883"]
    # Every file the config names is in a folder mounted from the repository's deploy/.
    auth = DEPLOY / "mosquitto" / "auth"
    certs = DEPLOY / "mosquitto" / "certs"
    expected = {
        "password_file": auth / "passwd",
        "acl_file": auth / "acl",
        "cafile": certs / "ca.crt",
        "certfile": certs / "server.crt",
        "keyfile": certs / "server.key",
    }
    for key, host in expected.items():
        (inside,) = conf[key]
        assert _host_path(mosquitto, inside) == host, key
    # passwd and acl are replaced whole by `occupancy devices`: their folder is mounted.
    for target in ("/mosquitto/auth", "/mosquitto/certs"):
        assert binds[target] in (auth, certs)
        assert any(v.endswith(f"{target}:ro") for v in mosquitto["volumes"]), target
    # Persistence (the bridge's queued QoS-1 messages) in a named volume.
    (location,) = conf["persistence_location"]
    assert _named_volumes(mosquitto)[location.rstrip("/")] == "mosquitto-data"


def test_the_admin_service_writes_the_files_mosquitto_reads(compose: dict[str, Any]) -> None:
    services = _services(compose)
    admin, mosquitto = services["admin"], services["mosquitto"]
    env = _env(admin)
    conf = _mosquitto_conf()
    for setting, key in (
        ("OCC_MQTT_PASSWORD_FILE", "password_file"),
        ("OCC_MQTT_ACL_FILE", "acl_file"),
    ):
        (inside,) = conf[key]
        assert _host_path(admin, env[setting]) == _host_path(mosquitto, inside), setting
    # As Mosquitto's user, with the same site file as the pipeline (devices are checked in it).
    assert admin["user"] == "1883:1883"
    assert admin["working_dir"] == "/tmp"  # the image's is uid 10001's
    assert env["OCC_SITE_FILE"] == _env(services["bridge"])["OCC_SITE_FILE"]
    assert _binds(admin)["/etc/occupancy"] == _binds(services["bridge"])["/etc/occupancy"]
    assert admin["build"] == services["bridge"]["build"]
    assert admin["image"] == services["bridge"]["image"]
    assert "devices" in main.commands


def test_the_users_service_writes_the_accounts_every_worker_reads(compose: dict[str, Any]) -> None:
    """`occupancy users` (on demand) and the workers' boards share one users file, in a
    folder the workers mount read-only: the file is replaced whole on every change, which a
    mount of the file alone would not show."""
    services = _services(compose)
    users = services["users"]
    assert users["profiles"] == ["admin"]
    assert users["entrypoint"] == ["occupancy", "users"]
    assert "users" in main.commands
    written = _host_path(users, _env(users)["OCC_USERS_FILE"])
    assert written is not None and written.parent == DEPLOY / "board"
    assert not any(v.endswith(":ro") for v in users["volumes"])
    # As the image's user, the workers' uid, so they can read the 0600 file it writes.
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    uid = re.search(r"useradd .*--uid (\d+)", dockerfile)
    assert uid is not None and users["user"] == f"{uid[1]}:{uid[1]}"
    for name in WORKERS:
        worker = services[name]
        inside = _env(worker)["OCC_USERS_FILE"]
        assert _host_path(worker, inside) == written, name
        folder = str(PurePosixPath(inside).parent)
        assert f"./board:{folder}:ro" in worker["volumes"], name
        assert "occ_board_session_key" in worker["secrets"], name
    assert "OCC_USERS_FILE" not in _env(services["bridge"])
    assert compose["secrets"]["occ_board_session_key"]["file"] == "./secrets/occ_board_session_key"


def test_each_pipeline_process_logs_in_to_mosquitto_with_its_own_secret_file(
    compose: dict[str, Any],
) -> None:
    """Mosquitto makes a login's user name its client id: two processes sharing a login would
    knock each other off, so the bridge, each worker and the health check have one each."""
    services = _services(compose)
    secrets = list(compose["secrets"])
    for secret in secrets:
        assert compose["secrets"][secret]["file"] == f"./secrets/{secret}"
    assert secrets == [
        "occ_mqtt_url_bridge",
        "occ_mqtt_url_worker_1",
        "occ_mqtt_url_worker_2",
        "occ_mqtt_url_health",
        *(f"occ_kafka_password_{user}" for user in ("admin", *ACCOUNTS)),
        "occ_pseudonym_key",
        "occ_board_session_key",
    ]
    logins = []
    for name in PIPELINE:
        service = services[name]
        env = _env(service)
        mounted = {
            (s, s) if isinstance(s, str) else (s["source"], s["target"]) for s in service["secrets"]
        }
        (login,) = [source for source, target in mounted if target == "occ_mqtt_url"]
        logins.append(login)
        assert login == f"occ_mqtt_url_{name.replace('-', '_')}"
        assert {target for _, target in mounted} == {
            "occ_mqtt_url",
            "occ_kafka_sasl_password",
            "occ_pseudonym_key",
            *(["occ_board_session_key"] if name in WORKERS else []),
        }
        (kafka_login,) = [s for s, target in mounted if target == "occ_kafka_sasl_password"]
        assert kafka_login == f"occ_kafka_password_{env['OCC_KAFKA_SASL_USERNAME']}"
        for _, target in mounted:
            assert target.removeprefix("occ_") in Settings.model_fields, f"{target}: no setting"
            assert target.upper() not in env, "the environment would win"
        assert env["OCC_SECRETS_DIR"] == "/run/secrets"
        # The environment wins over a secret file: it must not set the URL.
        assert "OCC_MQTT_URL" not in env
        # The CAs the pipeline trusts are the ones Mosquitto and Kafka serve with.
        configs = {c["target"]: c["source"] for c in service["configs"]}
        mqtt_ca = (DEPLOY / compose["configs"][configs[env["OCC_MQTT_CA_FILE"]]]["file"]).resolve()
        (cafile,) = _mosquitto_conf()["cafile"]
        assert mqtt_ca == _host_path(services["mosquitto"], cafile)
        kafka_ca = compose["configs"][configs[env["OCC_KAFKA_SSL_CA_FILE"]]]["file"]
        truststore = services["kafka"]["environment"]["KAFKA_SSL_TRUSTSTORE_LOCATION"]
        assert (DEPLOY / kafka_ca).resolve() == _host_path(services["kafka"], truststore)
    assert len(set(logins)) == len(PIPELINE)
    assert _mosquitto_conf()["use_username_as_clientid"] == ["true"]
    # What the docs tell the operator to write in it: TLS to the service, on its listener.
    documented = "mqtts://<user name>:<password>@mosquitto:8883"
    assert documented in COMPOSE.read_text(encoding="utf-8")
    assert documented in (DEPLOY / "secrets" / "README.md").read_text(encoding="utf-8")
    assert "8883:8883" in services["mosquitto"]["ports"]
    load_settings(mqtt_url="mqtts://worker-1:p@mosquitto:8883", mqtt_ca_file="/x/ca.crt")


def test_no_secret_is_written_in_the_file(compose: dict[str, Any]) -> None:
    text = "\n".join(_uncommented(COMPOSE.read_text(encoding="utf-8")))
    assert not re.search(r"\b[a-z][a-z0-9+.-]*://[^/\s@\"']+:[^/\s@\"']+@", text), "a URL login"
    # By the end of the name: OCC_MQTT_PASSWORD_FILE and OCC_SECRETS_DIR are paths.
    secretish = re.compile(r"(TOKEN|PASSWORD|SECRET|_KEY|WEBHOOK_URL)$")
    for name, service in _services(compose).items():
        for key, value in _env(service).items():
            if secretish.search(key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", value), f"{name}: {key} is inline"
    assert "OCC_MQTT_URL" not in text


def test_every_long_running_service_has_a_health_check(compose: dict[str, Any]) -> None:
    for name, service in _long_running(compose).items():
        check = service.get("healthcheck", {})
        assert check.get("test"), f"{name} has no health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
    # Whatever is waited for as healthy has a health check.
    for name, service in _services(compose).items():
        for dependency, spec in service.get("depends_on", {}).items():
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in _services(compose)[dependency], f"{name} → {dependency}"


def test_the_pipeline_health_check_is_a_real_occupancy_command(compose: dict[str, Any]) -> None:
    services = _services(compose)
    for name in PIPELINE:
        service = services[name]
        kind, shell = service["healthcheck"]["test"]
        assert kind == "CMD-SHELL"
        command, _, fallback = shell.partition("||")
        # Docker reserves exit status 2, which `occupancy` gives a configuration error.
        assert fallback.strip() == "exit 1"
        program, subcommand, *args = shlex.split(command)
        assert program == "occupancy"
        assert subcommand in main.commands, f"occupancy {subcommand} is not registered"
        health = main.commands[subcommand]
        with click.Context(health) as ctx:
            health.parse_args(ctx, list(args))  # raises on an unknown option
        assert "file" not in ctx.params or ctx.params["file"] is None
        # It reads the file the process touches, which the settings name.
        assert _env(service)["OCC_HEALTH_FILE"].startswith("/tmp/")
        assert "health_file" in Settings.model_fields
        # The pipeline waits for a Mosquitto that answers logins, and a Kafka.
        for dependency in ("mosquitto", "kafka"):
            assert service["depends_on"][dependency]["condition"] == "service_healthy", name


def test_mosquitto_health_check_logs_in_with_its_own_login(compose: dict[str, Any]) -> None:
    mosquitto = _services(compose)["mosquitto"]
    kind, shell = mosquitto["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    assert mosquitto["secrets"] == [{"source": "occ_mqtt_url_health", "target": "occ_mqtt_url"}]
    assert "/run/secrets/occ_mqtt_url" in shell
    (cafile,) = _mosquitto_conf()["cafile"]
    assert f"--cafile {cafile}" in shell
    # It subscribes to what a console of every building reads.
    assert f'/{AlertsTopic("+").format("occupancy")}"' in shell


def test_grafana_starts_with_the_datasource_and_every_dashboard(compose: dict[str, Any]) -> None:
    grafana = _services(compose)["grafana"]
    binds = _binds(grafana)
    provisioning = DEPLOY / "grafana" / "provisioning"
    assert binds["/etc/grafana/provisioning/datasources"] == provisioning / "datasources"
    assert binds["/etc/grafana/provisioning/dashboards"] == provisioning / "dashboards"

    providers = yaml.safe_load((provisioning / "dashboards" / "occupancy.yaml").read_text())
    (provider,) = providers["providers"]
    dashboards_dir = binds[provider["options"]["path"]]
    assert dashboards_dir == dash.DASHBOARD_DIR
    assert {p.name for p in dashboards_dir.glob("*.json")} == set(dash.generated())
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(provider["options"]["path"] + "/")
    assert (dashboards_dir / Path(home).name).exists()

    # Every ${VAR} of the datasource file is in Grafana's environment, and names InfluxDB.
    datasource = (provisioning / "datasources" / "influxdb.yaml").read_text()
    used = set(re.findall(r"\$\{(\w+)\}", "\n".join(_uncommented(datasource))))
    env = _env(grafana)
    assert used == {"INFLUX_URL", "INFLUX_DB", "INFLUX_TOKEN"}
    # The token: the read-only one the influxdb-dbrp job made, read at start.
    assert used - {"INFLUX_TOKEN"} <= set(env) and "INFLUX_TOKEN" not in env
    assert 'INFLUX_TOKEN="$$(cat /run/occupancy-influx/grafana)"' in grafana["entrypoint"][2]
    assert env["INFLUX_URL"] == "http://influxdb:8086"
    (ds,) = yaml.safe_load(datasource)["datasources"]
    assert ds["uid"] == dash.DATASOURCE_UID


def test_the_dbrp_mapping_is_the_database_grafana_reads(compose: dict[str, Any]) -> None:
    services = _services(compose)
    script = "\n".join(services["influxdb-dbrp"]["command"])
    database = _env(services["grafana"])["INFLUX_DB"]
    assert f"--db {database} --rp autogen --default" in script
    bucket = services["influxdb"]["environment"]["DOCKER_INFLUXDB_INIT_BUCKET"]
    assert f"bucket list --name {bucket}" in script
    assert _env(services["bridge"])["OCC_INFLUX_BUCKET"] == bucket
    # Grafana and the pipeline start only once the mapping is there.
    for name in ("grafana", *PIPELINE):
        condition = services[name]["depends_on"]["influxdb-dbrp"]["condition"]
        assert condition == "service_completed_successfully", name


def test_the_pipeline_services_use_real_settings_and_commands(compose: dict[str, Any]) -> None:
    settings = {f"OCC_{name.upper()}" for name in Settings.model_fields}
    services = _services(compose)
    for name in (*PIPELINE, "admin"):
        service = services[name]
        build = service["build"]
        context = (DEPLOY / build["context"]).resolve()
        assert (context / build["dockerfile"]).is_file()
        env = _env(service)
        unknown = {k for k in env if k.startswith("OCC_")} - settings - {"OCC_SECRETS_DIR"}
        assert unknown == set(), f"{name}: not settings: {sorted(unknown)}"
        binds = _binds(service)
        inside = Path(env["OCC_SITE_FILE"])
        assert binds[str(inside.parent)].joinpath(inside.name).is_file(), name
        load_settings(
            **{
                k.removeprefix("OCC_").lower(): v
                for k, v in env.items()
                if "${" not in v and k != "OCC_SECRETS_DIR"
            }
        )
    for name in PIPELINE:
        service = services[name]
        (command,) = service["command"]
        assert command in main.commands, f"{name}: occupancy {command} is not a command"
        env = _env(service)
        inside = Path(env["OCC_ROSTER_FILE"])
        assert _binds(service)[str(inside.parent)].joinpath(inside.name).is_file(), name
        # The InfluxDB token: the write-only one the influxdb-dbrp job made, read at start.
        assert "OCC_INFLUX_TOKEN" not in env
        assert (
            'OCC_INFLUX_TOKEN="$$(cat /run/occupancy-influx/pipeline)"'
            in (service["entrypoint"][2])
        )
    # Every OCC_ variable anywhere in the file is a setting (or the secrets folder's).
    every = set(re.findall(r"\bOCC_[A-Z0-9_]+\b", "\n".join(_uncommented(COMPOSE.read_text()))))
    assert every - settings == {"OCC_SECRETS_DIR"}


def test_the_addresses_the_services_share_agree(compose: dict[str, Any]) -> None:
    services = _services(compose)
    env = _env(services["worker-1"])
    assert env["OCC_KAFKA_BOOTSTRAP"] in services["kafka"]["environment"][
        "KAFKA_ADVERTISED_LISTENERS"
    ].replace("PLAINTEXT://", "")
    assert env["OCC_INFLUX_URL"] == _env(services["grafana"])["INFLUX_URL"]
    assert env["OCC_INFLUX_ORG"] == services["influxdb"]["environment"]["DOCKER_INFLUXDB_INIT_ORG"]
    for name in PIPELINE:
        # The bridge and the workers share their settings but their Kafka login and the
        # board's accounts, which only workers serve.
        own = {"OCC_KAFKA_SASL_USERNAME", "OCC_USERS_FILE"}
        assert {k: v for k, v in _env(services[name]).items() if k not in own} == {
            k: v for k, v in env.items() if k not in own
        }
        login = "OCC_KAFKA_SASL_USERNAME"
        assert _env(services[name])[login] == ("bridge" if name == "bridge" else "worker")


def test_worker_replicas_get_mqtt_client_ids_of_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In its container every replica is pid 1: the container's host name tells them apart
    (Mosquitto drops the older of two clients with one id)."""
    settings = load_settings()
    monkeypatch.setattr("os.getpid", lambda: 1)
    ids = set()
    for host in ("3f2a9c1d7e4b", "8d0e5b6a2c91"):
        monkeypatch.setattr("socket.gethostname", lambda host=host: host)
        ids.add(worker_client_id(settings))
    assert ids == {"occupancy-worker-3f2a9c1d7e4b-1", "occupancy-worker-8d0e5b6a2c91-1"}


def test_the_dockerfile_copies_what_exists_and_runs_occupancy() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    copies = re.findall(r"^COPY\s+(.+?)\s+\S+$", dockerfile, flags=re.MULTILINE)
    sources = [s for line in copies for s in line.split()]
    assert sources, "no COPY in the Dockerfile"
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: not in the repository"
    # Every top-level package the project installs is copied.
    assert {"ingest", "processors", "alerts", "deploy"} <= set(sources)
    assert re.search(r'^ENTRYPOINT \["occupancy"\]$', dockerfile, flags=re.MULTILINE)
    users = re.findall(r"^USER (\S+)$", dockerfile, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0"), "runs as root"
    # The uid the secrets README tells the operator to give the secret files to.
    assert "--uid 10001" in dockerfile
    assert "uid 10001" in (DEPLOY / "secrets" / "README.md").read_text(encoding="utf-8")


def test_the_deploy_guides_name_real_settings_and_commands() -> None:
    """deploy/README.md and the operator folders' READMEs: every OCC_ variable and
    `occ_*` secret file is a setting, every `occupancy ...` and `dc run --rm admin ...` in
    code (blocks or `spans`) names a real command."""
    settings = {f"OCC_{name.upper()}" for name in Settings.model_fields} | {"OCC_SECRETS_DIR"}
    guides = [DEPLOY / "README.md", *(folder / "README.md" for folder in OPERATOR_FOLDERS)]
    commands = 0
    for guide in guides:
        text = guide.read_text(encoding="utf-8")
        assert set(re.findall(r"\bOCC_[A-Z0-9_]+\b", text)) <= settings, guide
        files = {f"OCC_{name.upper()}" for name in re.findall(r"`occ_([a-z_]+)`", text)}
        assert files <= settings, guide
        for code in _code(text):
            found = re.match(r"(?:.*\s)?occupancy (.*)", code) or re.search(
                r"\brun --rm admin (.*)", code
            )
            if found is None:
                continue
            words = shlex.split(found[1].split("#")[0].replace("...", ""))
            commands += 1
            command: click.Command = main
            while isinstance(command, click.Group) and words and words[0] in command.commands:
                command = command.commands[words.pop(0)]
            assert command is not main, f"{guide}: {code}"
            if isinstance(command, click.Group) and words:  # `devices add|remove`
                assert set(words[0].split("|")) <= set(command.commands), f"{guide}: {code}"
    assert commands >= 10


def _code(markdown: str) -> list[str]:
    """The lines of fenced code blocks and the `spans` elsewhere, with `dc` spelled out."""
    code, fenced = [], False
    for line in markdown.splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
        elif fenced:
            code.append(line)
        else:
            code += re.findall(r"`([^`]+)`", line)
    return [re.sub(r"^dc ", "docker compose ", c.strip()) for c in code]


def _uncommented(text: str) -> list[str]:
    return [line.split("#", 1)[0] for line in text.splitlines()]


def test_kafka_takes_only_scram_logins_over_tls_and_grants_by_acl(
    compose: dict[str, Any],
) -> None:
    services = _services(compose)
    kafka = services["kafka"]["environment"]
    advertised = kafka["KAFKA_ADVERTISED_LISTENERS"]
    assert advertised == "SASL_SSL://kafka:9092"  # no PLAINTEXT listener for clients
    # The controller listener (PLAINTEXT, KRaft's own) on the container's loopback only.
    assert "CONTROLLER://localhost:9093" in kafka["KAFKA_LISTENERS"]
    assert "ports" not in services["kafka"]
    assert kafka["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    assert kafka["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert kafka["KAFKA_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    # Every account of deploy/kafka_acls.py gets its SCRAM login, then `occupancy kafka setup`.
    script = "\n".join(services["kafka-users"]["command"])
    assert f"for user in admin {' '.join(ACCOUNTS)}; do" in script
    assert services["kafka-users"]["network_mode"] == "service:kafka"
    assert services["kafka-setup"]["command"] == ["kafka", "setup"]
    assert "setup" in main.commands["kafka"].commands  # type: ignore[attr-defined]
    assert _env(services["kafka-setup"])["OCC_KAFKA_SASL_USERNAME"] == "admin"
    for name in PIPELINE:
        assert _env(services[name])["OCC_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        condition = services[name]["depends_on"]["kafka-setup"]["condition"]
        assert condition == "service_completed_successfully"


def test_influxdb_is_not_published_and_only_its_setup_job_has_the_admin_token(
    compose: dict[str, Any],
) -> None:
    services = _services(compose)
    assert "ports" not in services["influxdb"]
    holders = {
        name
        for name, service in services.items()
        if any("${OCC_INFLUX_TOKEN" in str(v) for v in _env(service).values())
    }
    assert holders == {"influxdb", "influxdb-dbrp"}  # it sets the token at first start
    script = "\n".join(services["influxdb-dbrp"]["command"])
    assert "influx auth create --write-bucket" in script and "> /tokens/pipeline" in script
    assert "influx auth create --read-bucket" in script and "> /tokens/grafana" in script
