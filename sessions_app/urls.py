from django.urls import path

from sessions_app import views
from sessions_app.api import views as api

urlpatterns = [
    path("sessions/", views.sessions, name="sessions"),
    path("sessions/active-panel/", views.sessions_active_panel, name="sessions-active-panel"),
    path("sessions/export.csv", views.sessions_export, name="sessions-export"),
    path("sessions/<int:pk>/", views.session_detail, name="session-detail"),
    path("api/v1/sessions", api.SessionListView.as_view(), name="api-sessions"),
    path("api/v1/sessions/<int:pk>", api.SessionDetailView.as_view(), name="api-session-detail"),
]
