"""Template tags for the admin's counts and buttons in Russian (core.admin_names)."""

from django import template
from django.contrib.admin.views.main import ChangeList
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def counted_name(changelist: ChangeList) -> str:
    """«8 задач»: the model's name in the form the changelist's count takes."""
    opts, count = changelist.opts, changelist.result_count
    noun = getattr(changelist.model_admin, "noun", None)
    if noun is None:
        return str(opts.verbose_name if count == 1 else opts.verbose_name_plural)
    return noun.counted(count, str(opts.verbose_name))


@register.simple_tag
def add_label(changelist: ChangeList) -> str:
    """«Добавить пользователя» for the changelist's add button."""
    noun = getattr(changelist.model_admin, "noun", None)
    name = noun.accusative if noun else changelist.opts.verbose_name
    return _("Добавить %s") % name
