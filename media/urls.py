from django.urls import path

from media import api

urlpatterns = [
    path(
        "api/template-media/register",
        api.TemplateMediaRegisterView.as_view(),
        name="api-template-media-register",
    ),
    path(
        "api/template-media/<str:media_id>",
        api.TemplateMediaView.as_view(),
        name="api-template-media",
    ),
    path("api/media/register", api.MediaRegisterView.as_view(), name="api-media-register"),
    path("api/media/cleanup", api.MediaCleanupView.as_view(), name="api-media-cleanup"),
]
