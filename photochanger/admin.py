from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.views import StaffLoginForm

admin.site.site_header = _("PhotoChanger — администрирование")
admin.site.site_title = _("PhotoChanger — администрирование")
admin.site.index_title = _("Управление")
admin.site.login_form = StaffLoginForm
