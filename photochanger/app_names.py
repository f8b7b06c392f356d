"""Other apps under the names the Russian admin lists them by ("Axes", "Audit log" otherwise).

Kept out of photochanger/apps.py: Django picks a package's AppConfig there only while it is
the one class of its kind in that module.
"""

from auditlog.apps import AuditlogConfig
from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _


class LoginLockoutConfig(AxesAppConfig):
    verbose_name = _("Блокировка входа")


class JournalConfig(AuditlogConfig):
    verbose_name = _("Журнал изменений")
