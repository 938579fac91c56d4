from django.urls import path

from usage.api import logs, views

urlpatterns = [
    path("ingest/records", views.IngestRecordsView.as_view(), name="api-ingest-records"),
    path("ingest/openclaw", views.OpenClawUploadView.as_view(), name="api-ingest-openclaw"),
    path("otlp/v1/traces", views.OtlpTracesView.as_view(), name="api-otlp-traces"),
    path("otlp/v1/metrics", views.OtlpMetricsView.as_view(), name="api-otlp-metrics"),
    path("otlp/v1/logs", views.OtlpLogsView.as_view(), name="api-otlp-logs"),
]

urlpatterns += [
    path("requests", logs.RequestListView.as_view(), name="api-requests"),
    path("requests/export.csv", logs.RequestExportView.as_view(), name="api-requests-export"),
    path("requests/<int:pk>", logs.RequestDetailView.as_view(), name="api-request-detail"),
]
