"""The embedded services, each in a var/ of its own so the suite's shared ones are untouched."""

import os
import subprocess
import sys

import psycopg
import pytest
import redis

from hub import embedded


@pytest.fixture
def own_var(tmp_path, monkeypatch):
    var = tmp_path / "var"
    monkeypatch.setenv("HUB_VAR_DIR", str(var))
    yield var
    embedded.stop(["redis", "postgres"])


def test_postgres_starts_once_is_shared_and_stops(own_var):
    url, started = embedded.start_postgres()
    assert started and (own_var / "pg" / "PG_VERSION").exists()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == "hub"
    again, started_again = embedded.start_postgres()
    assert (again, started_again) == (url, False)  # a second process reuses the running server
    embedded.stop_postgres()
    assert not embedded.postgres_running()


def test_postgres_restarts_on_existing_data(own_var):
    url, _ = embedded.start_postgres()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v int)")
        conn.execute("INSERT INTO kept VALUES (7)")
    embedded.stop_postgres()
    url, started = embedded.start_postgres()
    assert started
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT v FROM kept").fetchone()[0] == 7


def test_broken_data_directory_gives_a_clear_error(own_var):
    pgdata = own_var / "pg"
    pgdata.mkdir(parents=True)
    (pgdata / "PG_VERSION").write_text("18\n")  # looks initialised, holds nothing
    with pytest.raises(embedded.EmbeddedServiceError) as error:
        embedded.start_postgres()
    message = str(error.value)
    assert str(pgdata) in message and "DATABASE_URL" in message


def test_redis_starts_once_is_shared_and_stops(own_var):
    socket, started = embedded.start_redis()
    assert started
    client = redis.Redis(unix_socket_path=str(socket))
    client.set("k", "v")
    assert embedded.start_redis() == (socket, False)
    assert client.get("k") == b"v"
    embedded.stop_redis()
    assert not embedded.redis_running()


def test_postgres_lock_file_is_ours_not_shared_by_every_user_of_the_machine(tmp_path):
    # pgserver's default lock, /tmp/.lockfile, made by one user locks every other user out.
    env = {key: value for key, value in os.environ.items() if key != "XDG_RUNTIME_DIR"}
    env["HUB_VAR_DIR"] = str(tmp_path / "var")
    code = "from hub import embedded; print(embedded._pgserver().PostgresServer.lock_path)"
    lock = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert lock.stdout.strip().startswith(str(tmp_path / "var" / "run"))


def test_a_process_stops_only_what_it_started_in_its_own_var(own_var, monkeypatch, tmp_path):
    socket, started = embedded.start_redis()
    assert started and embedded.started_here() == ["redis"]
    # Seen from another var/ (the suite's shared one), this process started nothing there:
    # its end must not stop services it found running.
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "elsewhere"))
    assert embedded.started_here() == []
    monkeypatch.setenv("HUB_VAR_DIR", str(own_var))
    embedded.stop(embedded.started_here())
    assert not embedded.redis_running()
