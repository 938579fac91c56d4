from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property

from usage.models import MessageRequest

EXACT_COUNT_LIMIT = 10_000


class BoundedCountPaginator(Paginator):
    """Counts exactly up to a limit; past it, the planner's estimate, so a list over
    millions of rows never waits on COUNT(*)."""

    @cached_property
    def count(self) -> int:
        bounded = self.object_list.order_by()[: EXACT_COUNT_LIMIT + 1]
        exact = bounded.count()
        if exact <= EXACT_COUNT_LIMIT:
            return exact
        sql, params = self.object_list.order_by().query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            import json

            plan = json.loads(plan)
        return max(exact, int(plan[0]["Plan"]["Plan Rows"]))


@admin.register(MessageRequest)
class MessageRequestAdmin(admin.ModelAdmin):
    list_display = (
        "created_at", "user", "provider", "model", "status_code", "input_tokens", "output_tokens", "cost",
        "duration_ms",
    )  # fmt: skip
    list_filter = ("provider", "is_stream")
    search_fields = ("=request_id", "=session_id")
    list_select_related = ("user", "key", "provider")
    ordering = ("-created_at", "-id")
    paginator = BoundedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request) -> bool:
        return False  # records arrive through ingestion, priced and validated

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # retention drops whole months
