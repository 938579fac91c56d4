"""Request log pages."""

from django.urls import path

from usage import views

urlpatterns = [
    path("logs/", views.logs, name="logs"),
    path("logs/export.csv", views.logs_export, name="logs-export"),
    path("logs/statement.csv", views.statement, name="logs-statement"),
    path("logs/<int:pk>/", views.log_detail, name="log-detail"),
]
