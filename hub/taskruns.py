"""Recording scheduled task runs: every Celery task beat starts is wrapped by ``recorded``.

The wrapper writes the task's row of ``TaskRun`` before and after the body (outcome, duration,
result or error), in their own short statements outside the task's transactions, so a failed
task still leaves its failure behind. Recording never fails a task: if the database is what
failed, the task's own error is what propagates.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

from django.db import DatabaseError
from django.db.models import F
from django.utils import timezone

from hub.models import TaskRun

logger = logging.getLogger(__name__)
DETAIL_LENGTH = 500


def task_run_started(*, task: str) -> None:
    now = timezone.now()
    updated = TaskRun.objects.filter(task=task).update(
        outcome=TaskRun.Outcome.RUNNING, started_at=now, runs=F("runs") + 1
    )
    if not updated:
        TaskRun.objects.get_or_create(task=task, defaults={"outcome": TaskRun.Outcome.RUNNING, "started_at": now})
        TaskRun.objects.filter(task=task).update(runs=F("runs") + 1)


def task_run_finished(*, task: str, ok: bool, seconds: float, detail: str) -> None:
    now = timezone.now()
    values = {
        "outcome": TaskRun.Outcome.OK if ok else TaskRun.Outcome.FAILED,
        "finished_at": now,
        "duration_seconds": seconds,
        "detail": detail[:DETAIL_LENGTH],
    }
    if ok:
        values["last_success_at"] = now
    else:
        values["failures"] = F("failures") + 1
    TaskRun.objects.filter(task=task).update(**values)


def _quietly(write: Callable[[], None]) -> None:
    try:
        write()
    except DatabaseError:
        logger.warning("could not record a task run", exc_info=True)


def recorded(func: Callable) -> Callable:
    """Record each run of ``func`` (put it under ``@shared_task``): its name is the task's."""
    name = f"{func.__module__}.{func.__name__}"

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        _quietly(lambda: task_run_started(task=name))
        started = time.perf_counter()
        try:
            result = func(*args, **kwargs)
        except Exception as error:
            seconds, detail = time.perf_counter() - started, repr(error)
            _quietly(lambda: task_run_finished(task=name, ok=False, seconds=seconds, detail=detail))
            raise
        seconds = time.perf_counter() - started
        _quietly(lambda: task_run_finished(task=name, ok=True, seconds=seconds, detail=repr(result)))
        return result

    return wrapper
