"""What a rollup row is: a UTC hour, the fields it groups by and the sums it keeps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

HOUR = timedelta(hours=1)
#: the fine rollup (usage_hourly) groups by all of these
GROUP_FIELDS = ("user_id", "key_id", "provider_id", "model", "original_model", "endpoint", "status_class")
#: the brief rollup (usage_hourly_brief) only by these: it answers what needs no finer field
BRIEF_FIELDS = frozenset({"user_id", "provider_id", "original_model", "model"})
SUM_FIELDS = (
    "requests", "errors", "streams", "input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens",
    "reasoning_tokens", "cost", "priced", "zero_token_successes", "duration_sum", "duration_count", "ttft_sum",
    "ttft_count",
)  # fmt: skip


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def check_hour(hour: datetime) -> datetime:
    """The hour itself, in UTC; refuses anything that is not the start of a UTC hour."""
    if hour.tzinfo is None or floor_hour(hour) != hour:
        raise ValueError(f"{hour!r} is not the start of a UTC hour")
    return hour.astimezone(UTC)


def hour_ranges(hours: Sequence[datetime]) -> list[tuple[datetime, datetime]]:
    """Consecutive hours merged into [start, end) ranges."""
    ranges: list[tuple[datetime, datetime]] = []
    for hour in sorted(hours):
        if ranges and ranges[-1][1] == hour:
            ranges[-1] = (ranges[-1][0], hour + HOUR)
        else:
            ranges.append((hour, hour + HOUR))
    return ranges
