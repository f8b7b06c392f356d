from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("ingest.urls")),
    path("", include("photochanger.staff_urls")),
    path("", include("photochanger.ops_urls")),
]

handler404 = "photochanger.errors.not_found"
handler500 = "photochanger.errors.server_error"
