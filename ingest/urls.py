from django.urls import path

from ingest import views

urlpatterns = [
    path("api/ingest/<path:slot_id>", views.ingest, name="ingest"),
    path("ingest/<path:slot_id>", views.ingest, name="ingest-short"),
    path("api/slots/<str:slot_id>/test-run", views.test_run, name="slot-test-run"),
    path("api/jobs/<str:job_id>", views.job_status, name="job-status"),
    path("public/results/<str:job_id>", views.public_result, name="public-result"),
    path("public/results/<str:job_id>/preview", views.public_preview, name="public-preview"),
    path("public/provider-media/<str:media_id>", views.provider_media, name="provider-media"),
]
