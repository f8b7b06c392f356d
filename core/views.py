from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views


class LoginPage(auth_views.LoginView):
    # The admin's form: it refuses accounts without staff rights, which no page would admit.
    authentication_form = AdminAuthenticationForm
    template_name = "registration/login.html"
