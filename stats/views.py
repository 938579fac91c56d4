"""Dashboard, leaderboard, token statistics and provider availability pages. Thin: parse,
select, render."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, generate_latest

from hub.authentication import metrics_access
from hub.models import ApiKey, SystemSettings, User
from hub.visibility import LEADERBOARD_REFUSAL, may_see_leaderboard, may_see_logs_of, sees_everything
from providers.models import Provider, ProviderStatus
from providers.services import provider_status_events
from sessions_app import selectors as sessions
from stats import charts, selectors
from stats import metrics as prometheus
from stats.availability import (
    DEFAULT_WINDOW,
    STATUS_WINDOW,
    WINDOWS,
    AvailabilityError,
    provider_availability,
    provider_for,
)
from stats.forms import StatsFilterForm
from stats.links import logs_url
from stats.periods import MAX_BUCKETS, PERIODS, PeriodForm, StatsError, check_bucket
from usage.definitions import TOKEN_KIND_LABELS, TOKEN_KINDS


def _window(request, default: str) -> tuple[PeriodForm, str, datetime, datetime, list[str]]:
    form = PeriodForm(request.GET, default=default)
    period, start, end = form.window()
    return form, period, start, end, form.error_list()


def _fit_buckets(start: datetime, end: datetime, bucket: str, errors: list[str]) -> tuple[datetime, str]:
    """(start, bucket) of a chart that fits MAX_BUCKETS: days instead of too many hours, and
    the last MAX_BUCKETS days of a longer window, each said in ``errors``."""
    try:
        check_bucket(start, end, bucket)
        return start, bucket
    except StatsError as error:
        if bucket == "hour":
            errors.append(error.reason)
            return _fit_buckets(start, end, "day", errors)
    start = end - timedelta(days=MAX_BUCKETS)
    errors.append(_("Shown from %(start)s: a chart has at most 1,000 days.") % {"start": start.date()})
    return start, "day"


PERIOD_LABELS = {
    "today": gettext_lazy("Today"),
    "week": gettext_lazy("This week"),
    "month": gettext_lazy("This month"),
    "all": gettext_lazy("All time"),
}
KEPT_PARAMETERS = ("by", "bucket", "user", "key", "provider", "model")


def _period_links(request) -> list[tuple[str, str, str]]:
    """(period, label, url) of the quick periods, keeping the page's other choices."""
    kept = {name: request.GET[name] for name in KEPT_PARAMETERS if request.GET.get(name)}
    return [(name, str(label), "?" + urlencode({**kept, "period": name})) for name, label in PERIOD_LABELS.items()]


def _dashboard_panel(request, *, panel_id: str, title: str, start: datetime, end: datetime, bucket: str):
    """Requests, cost and tokens by model and by provider; a series links to its logs over the window."""
    cells = selectors.breakdown_cells(viewer=request.user, start=start, end=end, bucket=bucket)
    zone = SystemSettings.get().zone
    provider_ids = {cell["provider"]: cell["provider_id"] for cell in cells}

    def model_link(name: str) -> str | None:
        return None if name == "—" else logs_url(start=start, zone=zone, original_model=name)

    def provider_link(name: str) -> str | None:
        provider = provider_ids.get(name)
        return None if provider is None else logs_url(start=start, zone=zone, provider=provider)

    breakdowns = {
        "model": {"key": lambda cell: cell["model"], "link": model_link},
        "provider": {"key": lambda cell: cell["provider"], "link": provider_link},
    }
    return charts.panel(cells, panel_id=panel_id, title=title, start=start, end=end, bucket=bucket,
                        zone=zone, breakdowns=breakdowns, log_filters={})  # fmt: skip


@login_required
def home(request):
    now = timezone.now()
    windows = selectors.dashboard_windows(now)
    cards = selectors.overview(viewer=request.user, now=now)
    active_sessions, active_session_count = sessions.active_sessions(viewer=request.user)
    context = {
        "cards": cards,
        "links": {
            "today": logs_url(start=cards["start"], end=cards["end"]),
            "today_errors": logs_url(start=cards["start"], end=cards["end"], errors="true"),
        },
        "active_sessions": active_sessions,
        "active_session_count": active_session_count,
        "hourly": _dashboard_panel(request, panel_id="chart-hourly", title=_("Last 24 hours, per hour"),
                                   start=windows["hours"], end=now, bucket="hour"),
        "daily": _dashboard_panel(request, panel_id="chart-daily", title=_("Last 30 days, per day"),
                                  start=windows["days"], end=now, bucket="day"),
        "key_count": ApiKey.objects.visible_to(request.user).count(),
        "sees_everything": sees_everything(request.user),
    }  # fmt: skip
    return render(request, "stats/home.html", context)


def _period_query(request) -> str:
    """The period part of the current query string, for links to another board or page."""
    kept = {name: request.GET[name] for name in ("period", "start", "end") if request.GET.get(name)}
    return urlencode(kept)


@login_required
def leaderboard(request):
    if not may_see_leaderboard(request.user):
        raise PermissionDenied(LEADERBOARD_REFUSAL)
    form, period, start, end, errors = _window(request, "today")
    by = request.GET.get("by", "user")
    if by not in selectors.LEADERBOARDS:
        errors.append(_("by: one of user, provider, model"))
        by = "user"
    board = selectors.leaderboard(viewer=request.user, start=start, end=end, by=by)
    query = _period_query(request)
    everyone = sees_everything(request.user)
    for entry in board:
        # Log links only where the viewer may read those logs: an admin, or a user's own row.
        if by == "user":
            entry["detail"] = f"{reverse('leaderboard-user', args=[entry['id']])}?{query}"
            filters = {"user": entry["id"]} if may_see_logs_of(request.user, entry["id"]) else None
        elif by == "provider":
            filters = {"provider": entry["id"]} if everyone and entry["id"] is not None else None
        else:
            filters = {"original_model": entry["value"]} if everyone and entry["value"] else None
        entry["logs"] = logs_url(start=start, end=end, **filters) if filters is not None else None
        entry["error_logs"] = logs_url(start=start, end=end, errors="true", **filters) if filters is not None else None
    context = {"board": board, "by": by, "period": period, "start": start, "end": end, "errors": errors,
               "form": form, "periods": PERIODS, "boards": selectors.LEADERBOARDS, "query": query,
               "period_links": _period_links(request)}  # fmt: skip
    return render(request, "stats/leaderboard.html", context)


@login_required
def leaderboard_user(request, pk: int):
    """One user's figures. Their own page for everyone; another user's for admins, and for users
    only when System settings open the leaderboard: then figures only, no links into their logs."""
    own = request.user.pk == pk
    if not (own or may_see_leaderboard(request.user)):
        raise PermissionDenied(LEADERBOARD_REFUSAL)
    person = get_object_or_404(User, pk=pk)
    form, period, start, end, errors = _window(request, "month")
    zone = SystemSettings.get().zone
    start, bucket = _fit_buckets(start, end, "hour" if end - start <= timedelta(days=2) else "day", errors)
    cells = selectors.user_cells(viewer=request.user, user_id=pk, start=start, end=end, bucket=bucket)
    logs = may_see_logs_of(request.user, pk)
    provider_ids = {cell["provider"]: cell["provider_id"] for cell in cells}

    def model_link(name: str) -> str | None:
        return logs_url(start=start, end=end, user=pk, original_model=name) if logs and name != "—" else None

    def provider_link(name: str) -> str | None:
        provider = provider_ids.get(name)
        return logs_url(start=start, end=end, user=pk, provider=provider) if logs and provider is not None else None

    chart = charts.panel(
        cells, panel_id="chart-user", title=_("Per hour") if bucket == "hour" else _("Per day"), start=start, end=end,
        bucket=bucket, zone=zone, metrics=("cost", "requests", "tokens"),
        breakdowns={"model": {"key": lambda cell: cell["model"], "link": model_link},
                    "provider": {"key": lambda cell: cell["provider"], "link": provider_link}},
        log_filters={"user": pk} if logs else None,
    )  # fmt: skip
    context = {
        "person": person, "period": period, "start": start, "end": end, "errors": errors, "chart": chart,
        "summary": selectors.fold_cells(cells), "by_model": selectors.fold_cells(cells, "model", link=model_link),
        "by_provider": selectors.fold_cells(cells, "provider", link=provider_link),
        "logs": logs_url(start=start, end=end, user=pk) if logs else None,
        "error_logs": logs_url(start=start, end=end, user=pk, errors="true") if logs else None,
        "periods": PERIODS, "period_links": _period_links(request), "query": _period_query(request),
        "may_see_leaderboard": may_see_leaderboard(request.user),
    }  # fmt: skip
    return render(request, "stats/leaderboard_user.html", context)


def _log_filters(filters: dict) -> dict:
    """Rollup filters as the request log's query parameters."""
    names = {"user_id": "user", "key_id": "key", "provider_id": "provider", "original_model": "original_model"}
    return {names[name]: value for name, value in filters.items()}


@login_required
def tokens(request):
    form, period, start, end, errors = _window(request, "month")
    bucket = (form.cleaned_data.get("bucket") if form.is_valid() else None) or (
        "hour" if end - start <= timedelta(days=2) else "day"
    )
    filter_form = StatsFilterForm(request.GET, viewer=request.user)
    filters = filter_form.filters() if filter_form.is_valid() else {}
    start, bucket = _fit_buckets(start, end, bucket, errors)
    if filter_form.is_valid():
        stats = selectors.token_statistics(viewer=request.user, start=start, end=end, bucket=bucket, filters=filters)
    else:
        stats = {"summary": {"requests": 0}, "per_model": [], "series": []}  # a refused filter never widens
    labels = {name: str(TOKEN_KIND_LABELS[name]) for name in TOKEN_KINDS}
    cells = [{"bucket": row["bucket"], "kind": labels[name], "tokens": row[name]}
             for row in stats["series"] for name in TOKEN_KINDS]  # fmt: skip
    kinds = {"kind": {"key": lambda cell: cell["kind"], "link": lambda name: None, "order": list(labels.values())}}
    chart = charts.panel(
        cells, panel_id="chart-tokens", start=start, end=end, bucket=bucket, zone=SystemSettings.get().zone,
        title=_("Tokens per hour, by kind") if bucket == "hour" else _("Tokens per day, by kind"),
        metrics=("tokens",), breakdowns=kinds, log_filters=_log_filters(filters),
    )  # fmt: skip
    log_filters = _log_filters(filters)
    for row in stats["per_model"]:
        row["link"] = logs_url(start=start, end=end, **{**log_filters, "original_model": row["original_model"]})
    context = {
        **stats, "chart": chart, "period": period, "start": start, "end": end, "bucket": bucket, "errors": errors,
        "periods": PERIODS, "filter_form": filter_form, "period_links": _period_links(request),
        "links": {
            "all": logs_url(start=start, end=end, **log_filters),
            "zero_tokens": logs_url(start=start, end=end, zero_tokens="true", **log_filters),
        },
    }  # fmt: skip
    return render(request, "stats/tokens.html", context)


AVAILABILITY_METRICS = {
    "availability": (gettext_lazy("Availability"), "percent"),
    "latency": (gettext_lazy("Response time p95"), "ms"),
    "requests": (gettext_lazy("Requests"), "count"),
}


def _availability_panel(data: dict, zone, link_of) -> charts.Panel:
    """One line per provider for each measure, so providers compare side by side."""
    step = timedelta(minutes=data["bucket_minutes"])
    x = data["buckets"]
    row_links = [logs_url(start=moment, end=min(moment + step, data["end"]), zone=zone) for moment in x]
    row_labels = [moment.astimezone(zone).strftime("%m-%d %H:%M") for moment in x]
    values = {
        "availability": lambda point: None if point["availability"] is None else point["availability"] * 100,
        "latency": lambda point: point["duration_p95"],
        "requests": lambda point: point["requests"],
    }
    variants = []
    for metric, (_label, unit) in AVAILABILITY_METRICS.items():
        series = [
            charts.Series(entry["name"], [values[metric](point) for point in entry["series"]],
                          link_of(entry), color=i)
            for i, entry in enumerate(data["providers"])
        ]  # fmt: skip
        variants.append(charts.Variant(f"{metric}-provider", metric, "provider", unit, series, row_labels, row_links))
    bucket = "hour" if data["bucket_minutes"] == 60 else "minute"
    title = _("Per provider, every %(minutes)s minutes") % {"minutes": data["bucket_minutes"]}
    labels = {metric: label for metric, (label, _unit) in AVAILABILITY_METRICS.items()}
    return charts.Panel("chart-availability", title, bucket, zone.key, x, variants, kind="lines", metric_labels=labels)


@login_required
def availability(request):
    """Each provider's health over a window, from the minute buckets. Admins only."""
    if not sees_everything(request.user):
        raise PermissionDenied(_("Provider availability is for admins."))
    errors = []
    window = request.GET.get("window") or DEFAULT_WINDOW
    if window not in WINDOWS:
        errors.append(_("window: one of %(windows)s") % {"windows": ", ".join(WINDOWS)})
        window = DEFAULT_WINDOW
    try:
        provider_id = provider_for(request.GET.get("provider"))
    except AvailabilityError:
        errors.append(_("provider: not a provider"))
        provider_id = None
    data = provider_availability(viewer=request.user, window=window, provider_id=provider_id)
    zone = SystemSettings.get().zone
    start, end = data["start"], data["end"]
    for entry in data["providers"]:
        entry["links"] = {
            "all": logs_url(start=start, end=end, zone=zone, provider=entry["id"]),
            "recent": logs_url(start=end - STATUS_WINDOW, end=end, zone=zone, provider=entry["id"]),
        }
        for error in entry["errors"]:
            status = "none" if error["status"] is None else error["status"]
            error["link"] = logs_url(start=start, end=end, zone=zone, provider=entry["id"], status=status)
    statuses = {status.provider_id: status for status in ProviderStatus.objects.all()}
    for entry in data["providers"]:
        entry["snapshot"] = statuses.get(entry["id"])
    chart = _availability_panel(data, zone, lambda entry: entry["links"]["all"])
    context = {
        **data, "chart": chart, "errors": errors, "windows": list(WINDOWS), "provider_id": provider_id,
        "all_providers": Provider.objects.order_by("name"), "events": provider_status_events(limit=50),
        "relative_error_percent": round(data["relative_error"] * 100),
    }  # fmt: skip
    return render(request, "stats/availability.html", context)


@never_cache
@require_GET
def metrics(request):
    """Prometheus scrape endpoint (README "Metrics"): a key with the metrics scope or an allowed address."""
    status = metrics_access(request)
    if status != 200:
        response = HttpResponse(status=status, content_type="text/plain; charset=utf-8")
        response.content = b"A key with the metrics scope, owned by an admin, or an allowed address is needed.\n"
        if status == 401:
            response["WWW-Authenticate"] = "Bearer"
        return response
    compressed = "gzip" in request.headers.get("Accept-Encoding", "")
    body = prometheus.exposition(compressed=compressed)
    if settings.METRICS_DJANGO:  # django-prometheus: this process's own figures
        extra = generate_latest(REGISTRY)
        # gzip members concatenate into one stream
        body += gzip.compress(extra, compresslevel=1) if compressed else extra
    response = HttpResponse(body, content_type="text/plain; version=0.0.4; charset=utf-8")
    if compressed:
        response["Content-Encoding"] = "gzip"
    response["Vary"] = "Accept-Encoding"
    return response
