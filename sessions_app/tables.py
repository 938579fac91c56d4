"""The session page's table of requests, built in Python: a session of 500 requests renders in
a few milliseconds, where a template loop with a filter per cell took a quarter of a second."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe

from hub.formats import grouped, money
from usage.models import MessageRequest


def _status_class(code: int | None) -> str:
    return "" if code is None else "s5" if code >= 500 else "s4" if code >= 400 else "s2"


ERROR_ROW = mark_safe(' class="row-error"')  # noqa: S308  (a constant, no input in it)


def request_rows(requests: Iterable[MessageRequest]) -> SafeString:
    zone = timezone.get_current_timezone()
    detail = reverse("log-detail", args=[0]).removesuffix("0/")
    return format_html_join(
        "\n",
        '<tr{}><td class="nowrap"><a href="{}{}/">{}</a></td><td>{}</td><td class="nowrap">{}</td>'
        '<td><span class="status {}">{}</span></td><td class="num">{}</td><td class="num">{}</td>'
        '<td class="num">{}</td></tr>',
        (
            (
                ERROR_ROW if row.is_error else "",
                detail, row.pk, row.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                row.provider.name if row.provider else "—", row.model or "—",
                _status_class(row.status_code), row.status_code or "—", grouped(row.total_tokens), money(row.cost),
                "—" if row.duration_ms is None else f"{grouped(row.duration_ms)} ms",
            )
            for row in requests
        ),
    )  # fmt: skip
