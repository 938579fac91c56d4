"""Request log pages: list, detail, CSV export, monthly statement. Thin: parse, select, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from hub.params import CURSORS, query_without
from hub.visibility import sees_everything
from usage import export, presentation
from usage.filters import owner_choices
from usage.periods import RANGES
from usage.selectors import (
    DEFAULT_PAGE_SIZE,
    PAGE_SIZES,
    log_filterset,
    log_listing,
    log_page,
    log_suggestions,
    page_size,
    request_log,
)

# Offered in the status box next to what was typed.
STATUS_SUGGESTIONS = ("2xx", "4xx", "5xx", "200", "400", "401", "403", "429", "500", "502", "503", "529")


def _page_size(request: HttpRequest) -> int:
    try:
        return page_size(request.GET.get("size"))
    except ValueError:
        return DEFAULT_PAGE_SIZE


@login_required
def logs(request: HttpRequest) -> HttpResponse:
    filterset = log_filterset(viewer=request.user, data=request.GET, request=request)
    listing = log_listing(filterset)
    size = _page_size(request)
    try:
        page = log_page(
            listing.rows, after=request.GET.get("after", ""), before=request.GET.get("before", ""), size=size
        )
    except ValueError:
        messages.warning(request, _("That page link is no longer valid; showing the newest requests."))
        page = log_page(listing.rows, size=size)
    start, end = filterset.window()
    context = {
        "filterset": filterset,
        "form": filterset.form,
        "valid": filterset.is_valid(),
        "page": page,
        "count": listing.count,
        "count_exact": listing.exact,
        "count_at_most": listing.at_most,
        "window_start": start,
        "window_end": end,
        "active_range": filterset.active_range(),
        # A quick range keeps the other filters and drops the explicit times it replaces.
        "ranges": [
            (value, label, query_without(request.GET, *CURSORS, "range", "start", "end", range=value))
            for value, label in RANGES
        ],
        "size": size,
        "sizes": PAGE_SIZES,
        "query": query_without(request.GET, *CURSORS),
        "filter_query": query_without(request.GET, *CURSORS, "size"),
        "flags": filterset.form.cleaned_data if filterset.is_valid() else {},
        "sees_everything": sees_everything(request.user),
        **owner_choices(request),
        "suggestions": log_suggestions(viewer=request.user),
        "statuses": STATUS_SUGGESTIONS,
        "this_month": timezone.localtime().strftime("%Y-%m"),
    }
    return render(request, "usage/logs.html", context)


@login_required
def log_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # Another user's request answers 404, exactly like one that does not exist.
    row = get_object_or_404(request_log(viewer=request.user), pk=pk)
    back = reverse("logs") + (f"?{request.GET.urlencode()}" if request.GET else "")
    context = {
        "row": row,
        "back": back,
        "breakdown": presentation.plain_breakdown(row.cost_breakdown),
        "attributes": presentation.other_attributes(row.attributes),
    }
    return render(request, "usage/detail.html", context)


@login_required
def logs_export(request: HttpRequest) -> HttpResponse:
    filterset = log_filterset(viewer=request.user, data=request.GET, request=request)
    if not filterset.is_valid():
        return HttpResponseBadRequest(
            _("Invalid filter: %(errors)s") % {"errors": filterset.errors.as_text()}, content_type="text/plain"
        )
    response = StreamingHttpResponse(export.log_csv(filterset.qs), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export.export_filename("requests")}"'
    return response


@login_required
def statement(request: HttpRequest) -> HttpResponse:
    month = request.GET.get("month", "")
    try:
        export.month_bounds(month)
    except ValueError:
        return HttpResponseBadRequest(_("month: give a month as YYYY-MM."), content_type="text/plain")
    rows = request_log(viewer=request.user)
    response = StreamingHttpResponse(export.statement_csv(rows, month), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="statement-{month}.csv"'
    return response
