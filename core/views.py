from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.core.validators import MaxLengthValidator


class StaffLoginForm(AdminAuthenticationForm):
    """The admin's login form (it refuses accounts without staff rights), length-checked.

    AuthenticationForm sets the username's max_length after the field is built, so nothing
    enforces it: an over-long username reached django-axes, whose column it does not fit
    (a 500 on PostgreSQL).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        assert isinstance(username, forms.CharField) and username.max_length  # the form's own
        username.validators.append(MaxLengthValidator(username.max_length))


class LoginPage(auth_views.LoginView):
    authentication_form = StaffLoginForm
    template_name = "registration/login.html"
