from django.urls import path

from stats import views
from stats.api import views as api

urlpatterns = [
    path("", views.home, name="home"),
    path("leaderboard/", views.leaderboard, name="leaderboard"),
    path("leaderboard/users/<int:pk>/", views.leaderboard_user, name="leaderboard-user"),
    path("tokens/", views.tokens, name="tokens"),
    path("availability/", views.availability, name="availability"),
    path("metrics", views.metrics, name="metrics"),
    path("api/v1/stats/overview", api.OverviewView.as_view(), name="api-stats-overview"),
    path("api/v1/stats/leaderboard", api.LeaderboardView.as_view(), name="api-stats-leaderboard"),
    path("api/v1/stats/tokens", api.TokensView.as_view(), name="api-stats-tokens"),
    path("api/v1/stats/timeseries", api.TimeseriesView.as_view(), name="api-stats-timeseries"),
    path("api/v1/providers/availability", api.AvailabilityView.as_view(), name="api-providers-availability"),
]
