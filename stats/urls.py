from django.urls import path

from stats import api, views

urlpatterns = [
    path("api/stats/overview", api.StatsOverviewView.as_view(), name="api-stats-overview"),
    path("stats/", views.stats_page, name="stats-page"),
]
