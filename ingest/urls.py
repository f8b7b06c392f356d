from django.urls import path

from ingest import api, pages, views

urlpatterns = [
    path("api/ingest/<path:slot_id>", views.ingest, name="ingest"),
    path("ingest/<path:slot_id>", views.ingest, name="ingest-short"),
    path("api/jobs/<str:job_id>", views.job_status, name="job-status"),
    path("public/results/<str:job_id>", views.public_result, name="public-result"),
    path("public/results/<str:job_id>/preview", views.public_preview, name="public-preview"),
    path("public/provider-media/<str:media_id>", views.provider_media, name="provider-media"),
    path("public/slots/<str:slot_id>", views.gallery, name="gallery"),
    path("r/<str:code>", views.guest_page, name="guest-page"),
    path("api/slots", api.SlotListView.as_view(), name="api-slots"),
    path("api/slots/<str:slot_id>", api.SlotDetailView.as_view(), name="api-slot"),
    path("api/slots/<str:slot_id>/cleanup", api.SlotCleanupView.as_view(), name="api-slot-cleanup"),
    path("api/slots/<str:slot_id>/test-run", views.test_run, name="slot-test-run"),
    path(
        "api/slots/<str:slot_id>/validate", api.SlotValidateView.as_view(), name="api-slot-validate"
    ),
    path(
        "api/slots/<str:slot_id>/gallery-token",
        api.GalleryTokenView.as_view(),
        name="api-slot-gallery-token",
    ),
    path("api/settings", api.SettingsView.as_view(), name="api-settings"),
    path("api/settings/history", api.SettingsHistoryView.as_view(), name="api-settings-history"),
    path("", pages.dashboard, name="dashboard"),
    path("slots/<str:slot_id>/", pages.slot_page, name="slot-page"),
    path("slots/<str:slot_id>/gallery-qr.svg", pages.gallery_qr, name="slot-gallery-qr"),
    path("settings/", pages.settings_page, name="settings-page"),
]
