"""``make run``: embedded services if needed, migrate, first admin, demo data, then
web + Celery worker + Celery beat in the foreground until Ctrl-C.

Runs outside Django on purpose: it decides the environment (service URLs) that
every child process then inherits, and it stops what it started.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from hub import embedded

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _say(message: str) -> None:
    print(f"[hub] {message}", flush=True)


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], check=True, cwd=ROOT)  # noqa: S603


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _interrupt(signum, frame) -> None:
    # Ctrl-C reaches the whole process group at once; SIGTERM (a supervisor) only us.
    # Either way: stop the children in order rather than notice them dying.
    raise KeyboardInterrupt


def main() -> int:
    host = os.environ.get("HUB_HOST", "127.0.0.1")
    port = int(os.environ.get("HUB_PORT", "8000"))
    if not _port_free(host, port):
        _say(f"Port {port} on {host} is in use (another hub?). Stop that, or choose one: HUB_PORT=8001 make run")
        return 1
    try:
        urls, started = embedded.environment_urls()
    except embedded.EmbeddedServiceError as exc:
        _say(str(exc))
        return 1
    for variable, service in (("DATABASE_URL", "postgres"), ("REDIS_URL", "redis")):
        if variable in urls:
            state = "started" if service in started else "already running"
            _say(f"embedded {service} ({state}): {urls[variable]}")
    os.environ.update(urls)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.production")
    os.environ.setdefault("HTTPS", "0")  # served over plain HTTP on this machine
    children: list[subprocess.Popen] = []
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _manage("bootstrap", *(["--no-demo"] if os.environ.get("HUB_DEMO_DATA", "1") == "0" else []))
        workers = os.environ.get("WEB_CONCURRENCY", "2")
        commands = {
            "web": [str(BIN / "gunicorn"), "hub.wsgi", "--bind", f"{host}:{port}", "--workers", workers,
                    "--threads", "4", "--access-logfile", "-"],
            "worker": [str(BIN / "celery"), "-A", "hub", "worker", "--loglevel", "INFO", "--concurrency", "2"],
            "beat": [str(BIN / "celery"), "-A", "hub", "beat", "--loglevel", "INFO"],
        }  # fmt: skip
        for command in commands.values():
            children.append(subprocess.Popen(command, cwd=ROOT))  # noqa: S603
        _say(f"LLM Usage Hub is running: open http://{host}:{port}/  (Ctrl-C stops web, worker and beat)")
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        failed = [name for name, child in zip(commands, children, strict=True) if child.poll() is not None]
        _say(f"{', '.join(failed)} stopped unexpectedly; stopping the rest.")
        return 1
    except KeyboardInterrupt:
        _say("stopping…")
        return 0
    except subprocess.CalledProcessError as exc:
        _say(f"start-up step failed: {' '.join(exc.cmd[1:])}")
        return 1
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for child in children:
            try:
                child.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.kill()
        embedded.stop(started)
        if started:
            _say(f"stopped embedded {', '.join(started)}")


if __name__ == "__main__":
    sys.exit(main())
