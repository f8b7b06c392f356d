from django.urls import path

from photochanger import ops_views

urlpatterns = [
    path("healthz", ops_views.healthz, name="healthz"),
    path("healthz/live", ops_views.liveness, name="healthz-live"),
    path("metrics", ops_views.metrics, name="metrics"),
]
