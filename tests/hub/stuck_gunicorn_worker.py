"""A gunicorn config (``-c python:tests.hub.stuck_gunicorn_worker``) whose workers ignore every
polite stop signal, as the worker deadlocked in a futex wait did: only SIGKILL ends them."""

import signal


def post_worker_init(worker) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
