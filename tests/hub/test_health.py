"""/healthz and /readyz for load balancers and compose health checks."""

import pytest

from hub import health


@pytest.mark.django_db
def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"


@pytest.mark.django_db
def test_readyz_checks_database_migrations_and_redis(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "database": "ok", "migrations": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_naming_what_fails(client, monkeypatch):
    def down():
        raise ConnectionError("no redis")

    monkeypatch.setattr(health, "_ping_redis", down)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["redis"] == "unreachable: ConnectionError"
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
def test_readyz_says_when_migrations_are_pending(client, monkeypatch):
    monkeypatch.setattr(health, "_migrated", False)
    monkeypatch.setattr(health.MigrationExecutor, "migration_plan", lambda self, targets: ["one"])
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["migrations"] == "1 pending"
