"""``make run``: embedded services if needed, migrate, first admin, demo data, then
web + Celery worker + Celery beat in the foreground until Ctrl-C.

Runs outside Django on purpose: it decides the environment (service URLs) that
every child process then inherits, and it stops what it started.
"""

from __future__ import annotations

import contextlib
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


def _manage(*args: str, children: list[subprocess.Popen]) -> None:
    """A start-up step, stopped like the servers when Ctrl-C comes meanwhile."""
    child = _start([sys.executable, str(ROOT / "manage.py"), *args], children)
    if child.wait() != 0:
        raise subprocess.CalledProcessError(child.returncode, child.args)
    children.remove(child)


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on (host, port) now."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


GRACE_SECONDS = 5.0  # how long web, worker and beat get to stop by themselves before they are killed


def _interrupt(signum, frame) -> None:
    # Ctrl-C, SIGTERM (a supervisor) or SIGHUP (the terminal closed): stop the children in
    # order rather than notice them dying.
    raise KeyboardInterrupt


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _start(command: list[str], children: list[subprocess.Popen]) -> subprocess.Popen:
    """Spawn and remember as one step: a Ctrl-C in between would leave a child nobody stops."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        child = _spawn(command)
        children.append(child)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    return child


def _spawn(command: list[str]) -> subprocess.Popen:
    """A child in a process group of its own: the terminal's Ctrl-C reaches only the launcher,
    which then stops each child with one signal. (When Ctrl-C also reached gunicorn's workers
    directly, a worker could deadlock in its own signal handler while its master was stopping
    it, outlive the master and keep the port.) The group also holds whatever the child starts,
    so everything can be killed at once, even a worker whose master is gone."""
    return subprocess.Popen(command, cwd=ROOT, process_group=0)  # noqa: S603


def _kill_group(child: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # nobody left in the group
        os.killpg(child.pid, sig)


def _stop_children(children: list[subprocess.Popen], grace: float = GRACE_SECONDS) -> None:
    """SIGTERM to each child (gunicorn's master, Celery's worker and beat stop their own
    processes), at most ``grace`` seconds for all of them, then SIGKILL to every child's whole
    process group: whatever is left there (an orphaned worker included) is gone within a few
    seconds of Ctrl-C, and its port with it. Further Ctrl-Cs cannot interrupt this."""
    hurry = False

    def _hurry(signum, frame) -> None:
        nonlocal hurry
        hurry = True  # a second Ctrl-C: stop waiting, kill now

    for sig in STOP_SIGNALS:
        signal.signal(sig, _hurry)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while not hurry and time.monotonic() < deadline and any(child.poll() is None for child in children):
        time.sleep(0.1)
    for child in children:
        _kill_group(child, signal.SIGKILL)
    for child in children:
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            _say(f"process {child.pid} did not stop")


def main() -> int:
    host = os.environ.get("HUB_HOST", "127.0.0.1")
    port = int(os.environ.get("HUB_PORT", "8000"))
    if not port_free(host, port):
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
    for sig in STOP_SIGNALS:
        signal.signal(sig, _interrupt)
    try:
        _manage("bootstrap", *(["--no-demo"] if os.environ.get("HUB_DEMO_DATA", "1") == "0" else []), children=children)
        workers = os.environ.get("WEB_CONCURRENCY", "2")
        commands = {
            "web": [str(BIN / "gunicorn"), "hub.wsgi", "--config", "python:hub.gunicorn",
                    "--bind", f"{host}:{port}", "--workers", workers,
                    "--threads", "4", "--access-logfile", "-", "--graceful-timeout", str(int(GRACE_SECONDS) - 1)],
            "worker": [str(BIN / "celery"), "-A", "hub", "worker", "--loglevel", "INFO", "--concurrency", "2"],
            "beat": [str(BIN / "celery"), "-A", "hub", "beat", "--loglevel", "INFO"],
        }  # fmt: skip
        for command in commands.values():
            _start(command, children)
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
        _stop_children(children)
        embedded.stop(started)
        if started:
            _say(f"stopped embedded {', '.join(started)}")


if __name__ == "__main__":
    sys.exit(main())
