"""Model names the Russian admin can put into its sentences.

Django's admin builds its sentences from `verbose_name` and `verbose_name_plural` alone, which
in Russian gives «Выберите задача для изменения» and «8 история задач»: Russian nouns change
with their role in the sentence and with the number before them. Each admin names its model
with a Noun; RussianNamesAdmin writes the titles with it, the `counted_name` template tag
(templates/admin/pagination.html) the counts.
"""

from dataclasses import dataclass

from django.contrib import admin
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Noun:
    """A model's name in the cases the admin's sentences need; nominative forms are its Meta's."""

    accusative: str  # Выберите задачу, Изменить задачу
    few: str  # 2, 3, 4 задачи (genitive singular)
    many: str  # 5 задач, 11 задач (genitive plural)
    # Удалить «выбранных пользователей»; default «выбранные» and verbose_name_plural (inanimate).
    selected: str = ""
    # 1 задача, 21 задача; default: verbose_name (other apps' may start with a capital).
    one: str = ""

    def counted(self, count: int, verbose_name: str) -> str:
        """The form the number `count` takes in Russian: 1 задача, 3 задачи, 8 задач."""
        tens, units = count % 100, count % 10
        if units == 1 and tens != 11:
            return self.one or verbose_name
        if 2 <= units <= 4 and not 12 <= tens <= 14:
            return self.few
        return self.many


class RussianNamesAdmin(admin.ModelAdmin):
    """A ModelAdmin whose titles read as Russian sentences; subclasses set `noun`."""

    noun: Noun

    def changelist_view(self, request, extra_context=None):
        if self.has_change_permission(request):
            title = _("Выберите %s для изменения") % self.noun.accusative
        else:
            title = _("Выберите %s для просмотра") % self.noun.accusative
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id is None:
            title = _("Добавить %s") % self.noun.accusative
        elif self.has_change_permission(request):
            title = _("Изменить %s") % self.noun.accusative
        else:
            title = _("Просмотреть %s") % self.noun.accusative
        context = {"title": title, **(extra_context or {})}
        return super().changeform_view(request, object_id, form_url, context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Django lists every action as a tuple; its stubs allow None for the entries.
        if (delete_selected := actions.get("delete_selected")) is not None:
            function, name, _description = delete_selected
            selected = (
                self.noun.selected or _("выбранные %s") % self.model._meta.verbose_name_plural
            )
            actions[name] = (function, name, _("Удалить %s") % selected)
        return actions


def yes_no(value: bool | None) -> str:
    """A yes/no column as words: Django's icons are labelled "True" and "False" in English."""
    return _("да") if value else _("нет")
