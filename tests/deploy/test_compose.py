"""deploy/docker-compose.yml and deploy/Dockerfile, checked without Docker (none runs here).

The file is parsed as YAML and held against the repository: every path it mounts or builds
from exists, Grafana gets the provisioning and every dashboard, the `OCC_*` variables are real
settings, the commands are real `occupancy` commands, and the names the services share agree.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.cli import main
from deploy.grafana import dashboards as dash
from ingest.settings import Settings, load_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def _binds(service: dict[str, Any]) -> dict[str, Path]:
    """Container path → host path of the service's bind mounts (short syntax)."""
    binds = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith((".", "/")):
            binds[target] = (DEPLOY / source).resolve()
    return binds


def _env(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in service.get("environment", {}).items()}


def test_the_stack_has_every_service(compose: dict[str, Any]) -> None:
    services = _services(compose)
    expected = {"mosquitto", "kafka", "influxdb", "influxdb-dbrp", "grafana", "bridge", "worker"}
    assert expected <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["influxdb"]["image"].startswith("influxdb:2")


def test_every_bind_mount_source_exists(compose: dict[str, Any]) -> None:
    mounts = 0
    for name, service in _services(compose).items():
        for target, source in _binds(service).items():
            assert source.exists(), f"{name}: {source} (mounted at {target}) is not in the repo"
            assert source.is_relative_to(DEPLOY), f"{name}: {source} is outside deploy/"
            mounts += 1
    assert mounts >= 4
    for volume in {
        v.split(":")[0] for s in _services(compose).values() for v in s.get("volumes", [])
    }:
        if not volume.startswith((".", "/")):
            assert volume in compose["volumes"], f"named volume {volume} is not declared"


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
    assert used <= set(env)
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
    for name in ("grafana", "bridge", "worker"):
        condition = services[name]["depends_on"]["influxdb-dbrp"]["condition"]
        assert condition == "service_completed_successfully", name


def test_the_pipeline_services_use_real_settings_and_commands(compose: dict[str, Any]) -> None:
    settings = {f"OCC_{name.upper()}" for name in Settings.model_fields}
    services = _services(compose)
    for name in ("bridge", "worker"):
        service = services[name]
        build = service["build"]
        context = (DEPLOY / build["context"]).resolve()
        assert (context / build["dockerfile"]).is_file()
        (command,) = service["command"]
        assert command in main.commands, f"{name}: occupancy {command} is not a command"
        env = _env(service)
        unknown = {k for k in env if k.startswith("OCC_")} - settings
        assert unknown == set(), f"{name}: not settings: {sorted(unknown)}"
        binds = _binds(service)
        for key in ("OCC_SITE_FILE", "OCC_ROSTER_FILE"):
            inside = Path(env[key])
            assert binds[str(inside.parent)].joinpath(inside.name).is_file(), key
        # Secrets come from the environment (deploy/.env), never from this file.
        assert env["OCC_INFLUX_TOKEN"].startswith("${OCC_INFLUX_TOKEN:?")
        load_settings(
            **{k.removeprefix("OCC_").lower(): v for k, v in env.items() if "${" not in v}
        )
    # Every OCC_ variable anywhere in the file is a setting.
    every = set(re.findall(r"\bOCC_[A-Z0-9_]+\b", "\n".join(_uncommented(COMPOSE.read_text()))))
    assert every - settings == set()


def test_the_addresses_the_services_share_agree(compose: dict[str, Any]) -> None:
    services = _services(compose)
    env = _env(services["worker"])
    assert env["OCC_KAFKA_BOOTSTRAP"] in services["kafka"]["environment"][
        "KAFKA_ADVERTISED_LISTENERS"
    ].replace("PLAINTEXT://", "")
    assert env["OCC_MQTT_URL"] == "mqtt://mosquitto:1883"
    mosquitto_conf = compose["configs"]["mosquitto"]["content"]
    assert "listener 1883" in mosquitto_conf
    assert "persistence true" in mosquitto_conf
    (config,) = services["mosquitto"]["configs"]
    assert config["source"] == "mosquitto"
    assert config["target"] == "/mosquitto/config/mosquitto.conf"
    assert env["OCC_INFLUX_URL"] == _env(services["grafana"])["INFLUX_URL"]
    assert env["OCC_INFLUX_ORG"] == services["influxdb"]["environment"]["DOCKER_INFLUXDB_INIT_ORG"]


def test_the_dockerfile_copies_what_exists_and_runs_occupancy() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    root = DEPLOY.parent
    copies = re.findall(r"^COPY\s+(.+?)\s+\S+$", dockerfile, flags=re.MULTILINE)
    sources = [s for line in copies for s in line.split()]
    assert sources, "no COPY in the Dockerfile"
    for source in sources:
        assert (root / source).exists(), f"COPY {source}: not in the repository"
    # Every top-level package the project installs is copied.
    assert {"ingest", "processors", "alerts", "deploy"} <= set(sources)
    assert re.search(r'^ENTRYPOINT \["occupancy"\]$', dockerfile, flags=re.MULTILINE)
    assert re.search(r"^USER (?!root)\w+$", dockerfile, flags=re.MULTILINE)


def _uncommented(text: str) -> list[str]:
    return [line.split("#", 1)[0] for line in text.splitlines()]
