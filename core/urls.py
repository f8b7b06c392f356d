"""Staff sign-in: the JWT login of scripts and the session login of the pages."""

from django.contrib.auth.views import LogoutView
from django.urls import path
from django.views.i18n import JavaScriptCatalog

from core import api, views

urlpatterns = [
    path("api/login", api.LoginView.as_view(), name="api-login"),
    path("api/token/refresh", api.RefreshView.as_view(), name="api-token-refresh"),
    path("login/", views.LoginPage.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
]
