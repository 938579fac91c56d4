"""The production deployment files agree with the code (no Docker engine runs here to try them)."""

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
    for folder in ("hub", "providers", "usage", "sessions_app", "templates", "static", "locale"):
        assert re.search(rf"^COPY {folder} {folder}$", dockerfile, re.MULTILINE), folder
