from django.urls import path

from slots import api, views

urlpatterns = [
    path("api/slots", api.SlotListView.as_view(), name="api-slots"),
    path("api/slots/<str:slot_id>", api.SlotDetailView.as_view(), name="api-slot"),
    path("api/slots/<str:slot_id>/cleanup", api.SlotCleanupView.as_view(), name="api-slot-cleanup"),
    path("", views.dashboard, name="dashboard"),
    path("slots/<str:slot_id>/", views.slot_page, name="slot-page"),
    path("public/slots/<str:slot_id>", views.gallery, name="gallery"),
]
