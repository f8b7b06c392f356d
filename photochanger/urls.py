"""The whole site: each app brings its own routes; the top adds the admin, the schema, ops."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from photochanger import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file (no inline script); Swagger UI's page
    # keeps one inline <style>, so this staff-only page allows inline styles.
    path(
        "api/docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    path("healthz", views.healthz, name="healthz"),
    path("healthz/live", views.liveness, name="healthz-live"),
    path("metrics", views.metrics, name="metrics"),
    path("", include("core.urls")),
    path("", include("slots.urls")),
    path("", include("media.urls")),
    path("", include("ingest.urls")),
    path("", include("stats.urls")),
]

handler400 = "photochanger.errors.bad_request"
handler403 = "photochanger.errors.permission_denied"
handler404 = "photochanger.errors.not_found"
handler500 = "photochanger.errors.server_error"
