from django.urls import path

from usage.api import views

urlpatterns = [
    path("ingest/records", views.IngestRecordsView.as_view(), name="api-ingest-records"),
    path("ingest/openclaw", views.OpenClawUploadView.as_view(), name="api-ingest-openclaw"),
    path("otlp/v1/traces", views.OtlpTracesView.as_view(), name="api-otlp-traces"),
]
