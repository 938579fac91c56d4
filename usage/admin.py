from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from usage.models import MessageRequest
from usage.selectors import bounded_count


class BoundedCountPaginator(Paginator):
    """A list over millions of rows never waits on COUNT(*): exact up to a limit, then estimated."""

    @cached_property
    def _counted(self) -> tuple[int, bool]:
        return bounded_count(self.object_list, limit=10_000)

    @cached_property
    def count(self) -> int:
        return self._counted[0]

    @property
    def count_exact(self) -> bool:
        """False when ``count`` is the planner's estimate: the list then says "about"."""
        return self._counted[1]


@admin.register(MessageRequest)
class MessageRequestAdmin(admin.ModelAdmin):
    list_display = (
        "created_at", "user", "provider", "model", "status_code", "input_tokens", "output_tokens", "cost",
        "duration_ms",
    )  # fmt: skip
    list_filter = ("provider", "is_stream", "price_missing")
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
