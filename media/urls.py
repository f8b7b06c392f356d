from django.urls import path

from media import api

urlpatterns = [
    path("api/media/cleanup", api.MediaCleanupView.as_view(), name="api-media-cleanup"),
]
