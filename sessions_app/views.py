"""Sessions pages: the live list, one session, the CSV export. Thin: parse, select, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _

from hub.params import CURSORS, query_without
from hub.visibility import sees_everything
from providers.models import Provider
from sessions_app import selectors
from sessions_app.export import sessions_csv
from sessions_app.filters import SessionFilterSet
from sessions_app.tables import request_rows
from usage.definitions import API_TYPE_LABELS
from usage.export import export_filename
from usage.filters import owner_choices


def _is_refresh(request: HttpRequest) -> bool:
    """The page's own refresh call asks for the changing part only."""
    return request.headers.get("X-Refresh") == "1"


def _filterset(request: HttpRequest) -> SessionFilterSet:
    return SessionFilterSet(request.GET or None, request=request, queryset=selectors.session_list(viewer=request.user))


@login_required
def sessions(request: HttpRequest) -> HttpResponse:
    filterset = SessionFilterSet(
        request.GET or None, request=request, queryset=selectors.session_list(viewer=request.user)
    )
    try:
        listing = selectors.session_listing(
            filterset, viewer=request.user, after=request.GET.get("after", ""), before=request.GET.get("before", "")
        )
    except ValueError:
        listing = selectors.session_listing(filterset, viewer=request.user)
    context = {
        "filterset": filterset,
        "form": filterset.form,
        "valid": not filterset.is_bound or filterset.is_valid(),
        "listing": listing,
        "active_since": selectors.active_boundary(listing.now),
        "providers": dict(Provider.objects.values_list("pk", "name")),
        "api_types": API_TYPE_LABELS,
        "query": query_without(request.GET, *CURSORS),
        "sees_everything": sees_everything(request.user),
        **owner_choices(request),
    }
    template = "sessions_app/_list.html" if _is_refresh(request) else "sessions_app/list.html"
    return render(request, template, context)


@login_required
def sessions_active_panel(request: HttpRequest) -> HttpResponse:
    """The dashboard's active sessions panel, for its own refresh."""
    active, count = selectors.active_sessions(viewer=request.user)
    return render(
        request, "sessions_app/_active_panel.html", {"active_sessions": active, "active_session_count": count}
    )


@login_required
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # Another user's session answers 404, exactly like one that does not exist.
    session = get_object_or_404(selectors.session_list(viewer=request.user), pk=pk)
    detail = selectors.session_detail(session)
    back = reverse("sessions") + (f"?{request.GET.urlencode()}" if request.GET else "")
    context = {
        "detail": detail,
        "session": session,
        "back": back,
        "api_types": API_TYPE_LABELS,
        "active": session.last_request_at >= selectors.active_boundary(),
        "request_rows": request_rows(detail.requests),
        # The key's owner or an admin may switch the key off from here.
        "may_disable_key": session.key is not None
        and (sees_everything(request.user) or session.key.owner_id == request.user.pk),
    }
    return render(request, "sessions_app/detail.html", context)


@login_required
def sessions_export(request: HttpRequest) -> HttpResponse:
    filterset = SessionFilterSet(
        request.GET or None, request=request, queryset=selectors.session_list(viewer=request.user)
    )
    if filterset.is_bound and not filterset.is_valid():
        return HttpResponseBadRequest(
            _("Invalid filter: %(errors)s") % {"errors": filterset.errors.as_text()}, content_type="text/plain"
        )
    providers = dict(Provider.objects.values_list("pk", "name"))
    response = StreamingHttpResponse(sessions_csv(filterset.qs, providers), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export_filename("sessions")}"'
    return response
