"""Dashboard, leaderboard and token statistics pages. Thin: parse, select, render."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _

from hub.models import ApiKey, SystemSettings, User
from hub.visibility import sees_everything
from usage import rollups
from usage.stats import selectors
from usage.stats.charts import chart_data


class PeriodForm(forms.Form):
    period = forms.ChoiceField(choices=[(p, p) for p in selectors.PERIODS], required=False)
    start = forms.DateTimeField(required=False, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d"])
    end = forms.DateTimeField(required=False, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d"])
    bucket = forms.ChoiceField(choices=[(b, b) for b in selectors.BUCKETS], required=False)


def _window(request, default: str) -> tuple[PeriodForm, str, datetime, datetime, list[str]]:
    form = PeriodForm(request.GET)
    errors: list[str] = []
    period = default
    if form.is_valid():
        period = form.cleaned_data["period"] or default
        try:
            start, end = selectors.period_window(period, start=form.cleaned_data["start"], end=form.cleaned_data["end"])
            return form, period, start, end, errors
        except selectors.StatsError as error:
            errors.append(f"{error.field}: {error.reason}")
    else:
        errors += [f"{name}: {' '.join(messages)}" for name, messages in form.errors.items()]
    start, end = selectors.period_window(default)
    return form, default, start, end, errors


def _may_see_leaderboard(user) -> bool:
    return sees_everything(user) or SystemSettings.get().allow_global_usage_view


@login_required
def home(request):
    now = timezone.now()
    zone = SystemSettings.get().zone
    hourly = selectors.timeseries(viewer=request.user, start=rollups.floor_hour(now) - timedelta(hours=23),
                                  end=now, bucket="hour", by="model")  # fmt: skip
    daily_start = datetime.combine((now.astimezone(zone) - timedelta(days=29)).date(), datetime.min.time(), zone)
    daily = selectors.timeseries(viewer=request.user, start=daily_start, end=now, bucket="day", by="provider")
    context = {
        "cards": selectors.overview(viewer=request.user, now=now),
        "sessions": selectors.active_sessions(viewer=request.user, now=now),
        "hourly": chart_data(hourly, "requests"),
        "daily": chart_data(daily, "cost"),
        "key_count": ApiKey.objects.visible_to(request.user).count(),
        "sees_everything": sees_everything(request.user),
    }
    return render(request, "stats/home.html", context)


@login_required
def leaderboard(request):
    if not _may_see_leaderboard(request.user):
        raise PermissionDenied(_("The leaderboard is for admins unless System settings open it to everyone."))
    form, period, start, end, errors = _window(request, "today")
    by = request.GET.get("by", "user")
    if by not in selectors.LEADERBOARDS:
        errors.append(_("by: one of user, provider, model"))
        by = "user"
    board = selectors.leaderboard(viewer=request.user, start=start, end=end, by=by)
    context = {"board": board, "by": by, "period": period, "start": start, "end": end, "errors": errors,
               "form": form, "periods": selectors.PERIODS, "boards": selectors.LEADERBOARDS}  # fmt: skip
    return render(request, "stats/leaderboard.html", context)


@login_required
def leaderboard_user(request, pk: int):
    if not (sees_everything(request.user) or request.user.pk == pk or _may_see_leaderboard(request.user)):
        raise PermissionDenied
    person = get_object_or_404(User, pk=pk)
    form, period, start, end, errors = _window(request, "month")
    zone = SystemSettings.get().zone
    everyone = not sees_everything(request.user) and request.user.pk != pk
    rows = rollups.totals(viewer=request.user, start=start, end=end, group_by=("original_model",),
                          filters={"user_id": pk}, zone=zone, everyone=everyone)  # fmt: skip
    models = sorted(
        ({"model": row["original_model"] or "—", "requests": row["requests"], "cost": row["cost"],
          "tokens": selectors.tokens_total(row)} for row in rows),
        key=lambda r: (r["cost"] is None, -(r["cost"] or 0)),
    )  # fmt: skip
    context = {"person": person, "models": models, "period": period, "start": start, "end": end, "errors": errors,
               "periods": selectors.PERIODS}  # fmt: skip
    return render(request, "stats/leaderboard_user.html", context)


@login_required
def tokens(request):
    form, period, start, end, errors = _window(request, "month")
    bucket = (form.cleaned_data.get("bucket") if form.is_valid() else None) or "day"
    stats = selectors.token_statistics(viewer=request.user, start=start, end=end, bucket=bucket)
    series = [{"bucket": row["bucket"], "key": kind, "tokens": row[kind]} for row in stats["series"]
              for kind in ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")]  # fmt: skip
    context = {**stats, "chart": chart_data(series, "tokens"), "period": period, "start": start, "end": end,
               "bucket": bucket, "errors": errors, "periods": selectors.PERIODS}  # fmt: skip
    return render(request, "stats/tokens.html", context)
