"""Moments for tests that count "today": a few minutes ago, but never yesterday.

A test that stores a request "two minutes ago" and then expects it among today's figures fails
when the suite runs in the first two minutes after the hub's midnight (CI once did, at 00:00:50
Shanghai time). `minutes_ago` keeps the order and the spacing of the moments it is asked for but
shrinks them into the part of today that has passed.
"""

from datetime import datetime, timedelta

from django.utils import timezone

WITHIN = 10  # minutes ago the callers ask for at most


def minutes_ago(minutes: float, *, now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    today_so_far = (now - midnight).total_seconds() / 60
    scale = min(1.0, today_so_far / WITHIN)
    assert minutes <= WITHIN, f"minutes_ago serves moments of the last {WITHIN} minutes"
    return now - timedelta(minutes=minutes * scale)
