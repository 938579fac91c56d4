"""The production deployment files agree with the code (no Docker engine runs here to try them)."""

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SETTINGS_SOURCE = "\n".join(path.read_text() for path in (ROOT / "hub" / "settings").glob("*.py"))


def test_compose_runs_every_part_of_the_hub_with_health_checks():
    services = COMPOSE["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "beat"} <= services.keys()
    for name in ("postgres", "redis", "web", "worker"):
        assert "healthcheck" in services[name], name
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "pgdata" in COMPOSE["volumes"]
    assert "gunicorn" in (ROOT / "Dockerfile").read_text()
    assert services["worker"]["command"][:3] == ["celery", "-A", "hub"]
    assert services["beat"]["command"][3] == "beat"


def test_every_variable_compose_sets_is_one_the_settings_read():
    environment = COMPOSE["x-hub"]["environment"]
    for name in environment:
        assert re.search(rf"[\"']{name}[\"']", SETTINGS_SOURCE), name
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"} <= environment.keys()


def test_the_image_carries_every_package_of_the_hub():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for folder in ("hub", "providers", "usage", "sessions_app", "stats", "templates", "static", "locale"):
        assert re.search(rf"^COPY {folder} {folder}$", dockerfile, re.MULTILINE), folder


def test_compose_provisions_prometheus_and_grafana_with_the_shipped_files():
    services = COMPOSE["services"]
    assert "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in services["prometheus"]["volumes"]
    grafana = services["grafana"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert "./deploy/grafana:/var/lib/grafana/dashboards:ro" in grafana["volumes"]
    # The dashboard opens by itself: anonymous viewers, the hub's dashboard as home.
    assert grafana["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (ROOT / "deploy" / "grafana" / Path(home).name).exists()
    datasource = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    dashboard = json.loads((ROOT / "deploy/grafana/llm-hub.json").read_text())
    uids = {panel["datasource"]["uid"] for panel in dashboard["panels"] if "datasource" in panel}
    assert uids == {datasource["datasources"][0]["uid"]}
    # Prometheus scrapes web by name; web lets it in by that name and answers it over plain HTTP.
    scrape = yaml.safe_load((ROOT / "deploy/prometheus.yml").read_text())["scrape_configs"][0]
    assert scrape["static_configs"][0]["targets"] == ["web:8000"]
    assert COMPOSE["x-hub"]["environment"]["METRICS_ALLOWED_IPS"].endswith("prometheus}")
    assert "web" in COMPOSE["x-hub"]["environment"]["ALLOWED_HOSTS"]
    assert "^metrics$" in SETTINGS_SOURCE
    assert services["web"]["healthcheck"]["test"][-1].endswith("/readyz")
