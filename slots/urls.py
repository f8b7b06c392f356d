from django.urls import path

from slots import api

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
    path("api/slots/<str:slot_id>/history", api.SlotHistoryView.as_view(), name="api-slot-history"),
]
