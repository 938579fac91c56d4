from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from hub import health, views

urlpatterns = [
    # The project URLconf is where the apps meet; hub's own views never import the apps to its right.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("stats.urls")),
    path("", include("sessions_app.urls")),
    path("", include("usage.urls")),
    path("keys/", views.keys, name="keys"),
    path("keys/<int:pk>/toggle/", views.key_toggle, name="key-toggle"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("hub.api.urls")),
    path("api/v1/", include("usage.api.urls")),
    path("api/v1/schema", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI styles its widgets inline: its page alone may, nothing else.
    path(
        "api/docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),  # fmt: skip
]
handler500 = "hub.views.server_error"
handler403 = "hub.views.permission_denied"
handler404 = "hub.views.page_not_found"
