"""The whole site: each app brings its own routes; the top adds the admin, the schema, ops."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from photochanger import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", views.healthz, name="healthz"),
    path("healthz/live", views.liveness, name="healthz-live"),
    path("metrics", views.metrics, name="metrics"),
    path("", include("core.urls")),
    path("", include("slots.urls")),
    path("", include("media.urls")),
    path("", include("ingest.urls")),
    path("", include("stats.urls")),
]

handler404 = "photochanger.errors.not_found"
handler500 = "photochanger.errors.server_error"
