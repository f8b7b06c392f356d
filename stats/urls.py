from django.urls import path

from stats import api

urlpatterns = [
    path("api/stats/overview", api.StatsOverviewView.as_view(), name="api-stats-overview"),
]
