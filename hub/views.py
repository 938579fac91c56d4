from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hub.forms import ApiKeyCreateForm
from hub.models import ApiKey
from hub.services import api_key_create, api_key_set_enabled
from hub.visibility import sees_everything


@login_required
def keys(request):
    form = ApiKeyCreateForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        created = api_key_create(owner=request.user, **form.cleaned_data)
        form = ApiKeyCreateForm()
    context = {
        "form": form,
        "created": created,
        "keys": ApiKey.objects.visible_to(request.user).select_related("owner"),
        "sees_everything": sees_everything(request.user),
    }
    response = render(request, "hub/keys.html", context)
    if created:
        # The page holds a secret: never keep it in a cache or the browser's history.
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
