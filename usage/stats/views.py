"""Dashboard, leaderboard and token statistics pages (built on hourly rollups)."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from hub.models import ApiKey
from hub.visibility import sees_everything
from usage.selectors import request_summary


@login_required
def home(request):
    since = timezone.now() - timedelta(hours=24)
    context = {
        "summary": request_summary(viewer=request.user, since=since),
        "key_count": ApiKey.objects.visible_to(request.user).count(),
        "sees_everything": sees_everything(request.user),
    }
    return render(request, "stats/home.html", context)
