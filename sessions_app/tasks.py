from celery import shared_task
from django.db import OperationalError

from hub.taskruns import recorded


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
@recorded
def conversations_expire() -> int:
    """Remove stored conversations older than SystemSettings.session_messages_days."""
    from sessions_app.services import conversations_expire as expire

    return expire()
