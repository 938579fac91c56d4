"""Every scheduled task records its last run, duration and outcome; admins see them on one page."""

import pytest
from django.urls import reverse

from hub.models import TaskRun
from hub.taskruns import recorded

pytestmark = pytest.mark.django_db


def test_a_successful_run_is_recorded_with_its_duration_and_result():
    from usage.tasks import partitions_ensure_ahead

    partitions_ensure_ahead()
    run = TaskRun.objects.get(task="usage.tasks.partitions_ensure_ahead")
    assert run.outcome == TaskRun.Outcome.OK
    assert run.runs == 1 and run.failures == 0
    assert run.duration_seconds is not None and run.duration_seconds >= 0
    assert run.last_success_at == run.finished_at


def test_a_failing_run_is_recorded_and_still_raises():
    @recorded
    def breaks():
        raise ValueError("upstream gone")

    with pytest.raises(ValueError):
        breaks()
    with pytest.raises(ValueError):
        breaks()
    run = TaskRun.objects.get(task=f"{__name__}.breaks")
    assert run.outcome == TaskRun.Outcome.FAILED
    assert (run.runs, run.failures) == (2, 2)
    assert "upstream gone" in run.detail
    assert run.last_success_at is None


@pytest.mark.parametrize(
    "task",
    [
        "usage.tasks.partitions_ensure_ahead", "usage.tasks.retention_apply", "usage.tasks.rollups_process",
        "sessions_app.tasks.conversations_expire", "stats.tasks.dashboard_warm",
    ],
)  # fmt: skip
def test_every_task_is_recorded(task):
    from importlib import import_module

    module, name = task.rsplit(".", 1)
    assert getattr(import_module(module), name).run.__wrapped__  # wrapped by recorded()


def test_every_beat_task_is_one_of_the_recorded_ones(settings):
    from importlib import import_module

    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        module, name = entry["task"].rsplit(".", 1)
        assert hasattr(getattr(import_module(module), name).run, "__wrapped__"), entry["task"]


def test_admins_see_every_task_with_its_schedule_on_one_page(admin_client):
    from usage.tasks import partitions_ensure_ahead

    partitions_ensure_ahead()
    page = admin_client.get(reverse("admin:hub_taskrun_changelist")).content.decode()
    assert "usage.tasks.partitions_ensure_ahead" in page
    assert "minute=7" in page or "7 */6" in page  # the beat schedule, from settings
