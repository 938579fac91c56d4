"""Exact hourly rollups of ``message_request`` (DESIGN decision 6).

- ``compute``: marking hours dirty (by the write path, in the rows' own transaction) and
  recomputing them from raw rows, idempotently;
- ``read``: the planner that covers any window with clean hours from the rollups and raw rows
  for the rest, and the merge of both, so a result equals the same query on raw rows;
- ``day_cache``: closed local days' sums kept in the cache, keyed by their hours' stamps;
- ``shape``: what a rollup row groups by and sums.
"""

from usage.rollups import cumulative
from usage.rollups.compute import (
    UNKNOWN_HOURS_WINDOW,
    mark_hours,
    mark_range,
    rollup_dirty,
    rollup_hour,
    rollup_unknown,
)
from usage.rollups.read import plan, totals
from usage.rollups.shape import BRIEF_FIELDS, GROUP_FIELDS, HOUR, SUM_FIELDS, floor_hour

__all__ = [
    "BRIEF_FIELDS", "GROUP_FIELDS", "HOUR", "SUM_FIELDS", "UNKNOWN_HOURS_WINDOW", "cumulative", "floor_hour",
    "mark_hours", "mark_range", "plan", "rollup_dirty", "rollup_hour", "rollup_unknown", "totals",
]  # fmt: skip
