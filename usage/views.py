"""Request log pages: list, detail, CSV export, monthly statement. Thin: parse, select, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _

from hub.models import User
from hub.visibility import sees_everything
from providers.models import ModelPrice
from usage import export
from usage.selectors import (
    DEFAULT_PAGE_SIZE,
    PAGE_SIZES,
    bounded_count,
    log_filterset,
    log_page,
    request_log,
)

# Offered as suggestions in the endpoint box: the paths the common APIs use.
KNOWN_ENDPOINTS = (
    "/v1/messages",
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/completions",
    "/v1/embeddings",
    "/compatible-mode/v1/chat/completions",
)


def _page_size(request) -> int:
    try:
        size = int(request.GET.get("size", DEFAULT_PAGE_SIZE))
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE


def _query_without(request, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@login_required
def logs(request):
    filterset = log_filterset(viewer=request.user, data=request.GET, request=request)
    size = _page_size(request)
    try:
        page = log_page(
            filterset.qs, after=request.GET.get("after", ""), before=request.GET.get("before", ""), size=size
        )
    except ValueError:
        messages.warning(request, _("That page link is no longer valid; showing the newest requests."))
        page = log_page(filterset.qs, size=size)
    count, exact = bounded_count(filterset.qs) if filterset.is_valid() else (0, True)
    start, end = filterset.window()
    context = {
        "filterset": filterset,
        "form": filterset.form,
        "page": page,
        "count": count,
        "count_exact": exact,
        "window_start": start,
        "window_end": end,
        "size": size,
        "sizes": PAGE_SIZES,
        "query": _query_without(request, "after", "before"),
        "filter_query": _query_without(request, "after", "before", "size"),
        "errors_only": filterset.is_valid() and bool(filterset.form.cleaned_data.get("errors")),
        "sees_everything": sees_everything(request.user),
        "users": User.objects.visible_to(request.user).only("username", "display_name"),
        "models": ModelPrice.objects.order_by("model").values_list("model", flat=True).distinct(),
        "endpoints": KNOWN_ENDPOINTS,
    }
    return render(request, "usage/logs.html", context)


@login_required
def log_detail(request, pk: int):
    # Another user's request answers 404, exactly like one that does not exist.
    row = get_object_or_404(request_log(viewer=request.user), pk=pk)
    back = reverse("logs") + (f"?{request.GET.urlencode()}" if request.GET else "")
    return render(request, "usage/detail.html", {"row": row, "back": back})


@login_required
def logs_export(request):
    filterset = log_filterset(viewer=request.user, data=request.GET, request=request)
    if not filterset.is_valid():
        return HttpResponseBadRequest(_("Invalid filter: %(errors)s") % {"errors": filterset.errors.as_text()})
    response = StreamingHttpResponse(export.log_csv(filterset.qs), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export.export_filename("requests")}"'
    return response


@login_required
def statement(request):
    month = request.GET.get("month", "")
    try:
        export.month_bounds(month)
    except ValueError:
        return HttpResponseBadRequest(_("month: give a month as YYYY-MM."))
    rows = request_log(viewer=request.user)
    response = StreamingHttpResponse(export.statement_csv(rows, month), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="statement-{month}.csv"'
    return response
