from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hub.forms import ApiKeyCreateForm
from hub.models import ApiKey
from hub.services import api_key_create, api_key_set_enabled
from hub.visibility import sees_everything

NEW_KEY = "hub.new_key"  # the session entry that carries a new secret across one redirect
KEYS_PER_PAGE = 50


@login_required
def keys(request):
    """Post/redirect/get: a created key's secret crosses the redirect in the session and is
    taken out by the page that shows it, so a reload (or Back) shows it no more and never
    creates a second key."""
    form = ApiKeyCreateForm(request.POST or None, viewer=request.user)
    if request.method == "POST" and form.is_valid():
        fields = {name: value for name, value in form.cleaned_data.items() if name != "owner"}
        created = api_key_create(owner=form.owner(), **fields)
        request.session[NEW_KEY] = {"id": created.key.pk, "secret": created.secret}
        return redirect("keys")
    shown = request.session.pop(NEW_KEY, None)
    created = None
    if shown:
        key = ApiKey.objects.visible_to(request.user).select_related("owner").filter(pk=shown["id"]).first()
        created = {"key": key, "secret": shown["secret"]} if key else None
    keys = ApiKey.objects.visible_to(request.user).select_related("owner").order_by("owner__username", "name", "pk")
    # A page at a time: a gateway's hub may hold thousands of keys (10,000 made a 5.8 MB page).
    # get_page answers any ?page= (not a number, past the end) with a real page, never an error.
    page = Paginator(keys, KEYS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "created": created,
        "keys": page.object_list,
        "page": page,
        "sees_everything": sees_everything(request.user),
    }
    response = render(request, "hub/keys.html", context)
    # The page may hold a secret: never keep it in a cache or the browser's history.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def key_toggle(request, pk: int):
    # Another user's key answers 404, exactly like a key that does not exist.
    key = get_object_or_404(ApiKey.objects.visible_to(request.user), pk=pk)
    api_key_set_enabled(key=key, enabled=not key.enabled)
    if key.enabled:
        messages.success(request, _("Key “%(name)s” enabled.") % {"name": key.name})
    else:
        messages.success(request, _("Key “%(name)s” disabled: requests with it now get 401.") % {"name": key.name})
    # Back where the switch was pressed (a session's page), if that is this hub's own page.
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect("keys")


def _database_unavailable(error: BaseException | None) -> bool:
    import psycopg
    from django.db import InterfaceError, OperationalError

    return isinstance(error, OperationalError | InterfaceError | psycopg.OperationalError | psycopg.InterfaceError)


def server_error(request):
    """The 500 handler. A database that is restarting is a 503 with Retry-After, as JSON for
    the API and a styled "try again" page otherwise; neither touches the database."""
    import sys

    from django.http import HttpResponse, JsonResponse
    from django.template.loader import render_to_string

    unavailable = _database_unavailable(sys.exc_info()[1])
    status = 503 if unavailable else 500
    if request.path.startswith("/api/"):
        detail = (
            _("The database is not reachable right now; retry in a few seconds.")
            if unavailable
            else _("The server failed to answer this request.")
        )
        response = JsonResponse({"detail": detail}, status=status)
    else:
        page = render_to_string("errors/503.html" if unavailable else "errors/500.html", {"path": request.path})
        response = HttpResponse(page, status=status)
    if unavailable:
        response["Retry-After"] = "5"
    return response


def _way_back(request) -> str | None:
    """The page the reader came from, when it is one of ours."""
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(referer, {request.get_host()}, request.is_secure()):
        return referer
    return None


def _error_page(request, *, status: int, title: str, reason: str):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": reason}, status=status)
    context = {"status": status, "title": title, "reason": reason, "back": _way_back(request)}
    return render(request, "errors/error.html", context, status=status)


def permission_denied(request, exception=None):
    """403 in the layout, with the reason the view gave (already in the reader's language)."""
    reason = str(exception) if exception is not None and exception.args and str(exception) else ""
    return _error_page(
        request, status=403, title=_("You may not open this page"),
        reason=reason or _("This page is for admins, or for the owner of what it shows."),
    )  # fmt: skip


def page_not_found(request, exception=None):
    # The same answer for "missing" and "someone else's": an id tells nothing (DESIGN decision 2).
    return _error_page(
        request, status=404, title=_("Page not found"),
        reason=_("There is nothing at this address, or it belongs to someone else."),
    )  # fmt: skip


def csrf_failure(request, reason: str = ""):
    return _error_page(
        request, status=403, title=_("The form had expired"),
        reason=_("The page was open too long or the session ended. Open it again and send the form once more."),
    )  # fmt: skip
