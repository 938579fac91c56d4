"""``make run``'s launcher, interrupted as a person would with Ctrl-C at several moments: every
process it started is gone within a few seconds, and so is its hold on the port.

The launcher runs for real (bootstrap, gunicorn, Celery worker and beat) against this test
run's database and Redis, on a free port of 127.0.0.1 with its own HUB_VAR_DIR. Ctrl-C is
what a terminal sends: SIGINT to the launcher's whole process group. Its processes are found
afterwards by a token in their environment, which every descendant inherits, so a worker
orphaned by its master is found too.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from hub.launcher import port_free
from tests.servers import database_url, free_port

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
STOPPED_WITHIN = 10.0  # seconds from Ctrl-C until the launcher has exited
TOKEN_VARIABLE = "HUB_LAUNCHER_TEST_TOKEN"


def _processes_with(token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue  # gone meanwhile, or a zombie waiting to be reaped
        if f"{TOKEN_VARIABLE}={token}".encode() in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _first_page(port: int, launcher: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert launcher.poll() is None, "the launcher stopped before serving"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("no page within the time allowed")


def _keep_asking(port: int, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2).read()  # noqa: S310
        except (OSError, http.client.HTTPException):  # refused, or cut short by the Ctrl-C: as expected
            time.sleep(0.05)


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory) -> Path:
    # Shared by the runs, so collectstatic copies the files once.
    return tmp_path_factory.mktemp("launcher-var")


MOMENTS = ["during start-up", "as the first page answers", "a second later, under load", "with a stuck worker"]


@pytest.mark.parametrize("moment", MOMENTS)
def test_ctrl_c_stops_every_process_and_frees_the_port(var_dir, tmp_path, moment):
    port, token = free_port(), uuid.uuid4().hex
    environment = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    environment.update({
        "DATABASE_URL": database_url(), "REDIS_URL": os.environ["REDIS_URL"], "HUB_VAR_DIR": str(var_dir),
        "HUB_PORT": str(port), "HUB_DEMO_DATA": "0", "WEB_CONCURRENCY": "2", TOKEN_VARIABLE: token,
        "PYTHONUNBUFFERED": "1",
    })  # fmt: skip
    if moment == "with a stuck worker":
        # gunicorn reads extra options from GUNICORN_CMD_ARGS: workers that ignore SIGTERM.
        environment["GUNICORN_CMD_ARGS"] = "--config python:tests.hub.stuck_gunicorn_worker"
    log = (tmp_path / "launcher.log").open("w")
    # Its own process group, like a shell's foreground job: SIGINT to the group is Ctrl-C.
    launcher = subprocess.Popen(
        [sys.executable, "-m", "hub.launcher"], cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    stop_asking = threading.Event()
    try:
        if moment == "during start-up":
            time.sleep(1.5)
        else:
            _first_page(port, launcher)
            if moment in ("a second later, under load", "with a stuck worker"):
                for _ in range(4):
                    threading.Thread(target=_keep_asking, args=(port, stop_asking), daemon=True).start()
                time.sleep(1.0)
        interrupted = time.monotonic()
        os.killpg(launcher.pid, signal.SIGINT)
        launcher.wait(timeout=STOPPED_WITHIN + 20)
        took = time.monotonic() - interrupted
        stop_asking.set()
        deadline = time.monotonic() + 3
        while _processes_with(token) and time.monotonic() < deadline:
            time.sleep(0.1)  # killed processes leave /proc once reaped
        left = _processes_with(token)
        output = (tmp_path / "launcher.log").read_text()
        assert not left, f"left running: {left}\n{output[-3000:]}"
        assert took < STOPPED_WITHIN, f"took {took:.1f} s\n{output[-3000:]}"
        assert port_free("127.0.0.1", port), f"port {port} still taken"
    finally:
        stop_asking.set()
        for pid in _processes_with(token):
            os.kill(pid, signal.SIGKILL)
        if launcher.poll() is None:
            launcher.kill()
        log.close()
