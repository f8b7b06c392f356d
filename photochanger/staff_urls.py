"""Everything staff use (the JWT API, the pages, the API schema) and the public gallery."""

from django.contrib.auth.views import LogoutView
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework_simplejwt.views import TokenRefreshView

from photochanger import api, views

urlpatterns = [
    path("api/login", api.LoginView.as_view(), name="api-login"),
    path("api/token/refresh", TokenRefreshView.as_view(), name="api-token-refresh"),
    path("api/settings", api.SettingsView.as_view(), name="api-settings"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("login/", views.LoginPage.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("settings/", views.settings_page, name="settings-page"),
    path("stats/", views.stats_page, name="stats-page"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("slots.urls")),
    path("", include("media.urls")),
    path("", include("stats.urls")),
]
