"""Provider settings that fail their schema are explained in Russian, by the field's title."""

import jsonschema
import pytest
from django.core.exceptions import ValidationError

from slots.models import ProviderConfig, Slot
from slots.schema_messages import settings_message

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 3, "maxLength": 21, "title": "Имя"},
        "code": {"type": "string", "pattern": "^[a-z]{2}$", "title": "Код"},
        "tone": {"enum": ["a", "b"], "title": "Тон", "x-enum-labels": {"a": "Светлый"}},
        "count": {"type": "integer", "minimum": 1, "title": "Количество"},
        "ratio": {"type": "number", "exclusiveMaximum": 2.5, "title": "Доля"},
        "either": {"anyOf": [{"enum": ["x"]}, {"type": "integer"}], "title": "Либо"},
        "untitled": {"type": "boolean"},
    },
    "required": ["name", "code"],
    "additionalProperties": False,
}


def messages(instance: dict) -> list[str]:
    errors = jsonschema.Draft202012Validator(SCHEMA).iter_errors(instance)
    return sorted(settings_message(error, SCHEMA) for error in errors)


def settings_errors(provider: str, operation: str, settings: dict) -> list[str]:
    return ProviderConfig(provider, operation, settings).errors().get("settings", [])


def test_a_bad_colour_is_explained_in_russian_by_the_field_s_title():
    assert settings_errors("local", "frame", {"border_color": "red"}) == [
        "Цвет канта: нужен цвет вида #rrggbb, а не «red»."
    ]


def test_a_missing_gemini_prompt_names_the_field_staff_see():
    assert settings_errors("gemini", "image_edit", {}) == ["Заполните обязательное поле «Промпт»."]


def test_numbers_out_of_bounds_give_the_range_of_the_schema():
    assert settings_errors("turbotext", "image_edit", {"strength": 95}) == [
        "Сила изменения: от 0 до 80, а не 95."
    ]


def test_an_unknown_choice_lists_the_labels_staff_can_pick():
    (message,) = settings_errors("local", "filter", {"filter": "neon"})

    assert message == (
        "Фильтр: значения «neon» нет, выберите: Сепия, Чёрно-белый, Тёплый, Холодный, Яркий."
    )


def test_unknown_keys_are_named_with_the_keys_that_are_allowed():
    (message,) = settings_errors("local", "filter", {"glow": 1})

    assert message.startswith("Неизвестный параметр: glow. Допустимые параметры: filter, ")


def test_every_validator_kind_has_a_russian_message():
    found = messages(
        {
            "name": "x" * 22,
            "code": "RUS",
            "tone": "c",
            "count": 0,
            "ratio": 3,
            "either": "y",
            "untitled": "yes",
        }
    )

    assert found == [
        "untitled: ожидается да или нет, а не «yes».",
        "Доля: не больше 2.5, а не 3.",
        "Имя: не длиннее 21 символа (сейчас 22).",
        "Код: «RUS» — неверный формат.",
        "Количество: не меньше 1, а не 0.",
        "Либо: недопустимое значение «y».",
        "Тон: значения «c» нет, выберите: Светлый, b.",
    ]


def test_short_text_and_missing_fields_read_as_sentences():
    assert messages({"name": "ab"}) == [
        "Заполните обязательное поле «Код».",
        "Имя: не короче 3 символов.",
    ]


def test_a_value_of_the_wrong_type_says_what_is_expected():
    assert messages({"name": 5, "code": "ru"}) == ["Имя: ожидается текст, а не «5»."]


@pytest.mark.parametrize(
    ("provider", "operation", "values"),
    [
        ("local", "frame", {"border_color": "red", "border_percent": 40}),
        ("gemini", "image_edit", {"prompt": "", "model": "Bad Model!", "max_side": 1}),
        ("turbotext", "image_edit", {"content": "x" * 2001, "original_language": "RUS"}),
    ],
)
def test_no_english_from_jsonschema_reaches_staff(provider, operation, values):
    found = settings_errors(provider, operation, values)

    assert found
    for english in ("does not match", "is not", "is too", "is less", "is greater", "required"):
        assert not any(english in message for message in found)


@pytest.mark.django_db
def test_a_fallback_s_settings_errors_say_which_fallback():
    slot = Slot.objects.get(pk="slot-001")
    slot.fallbacks = [
        {"provider": "local", "operation": "frame", "settings": {"border_color": "1"}}
    ]

    with pytest.raises(ValidationError) as raised:
        slot.full_clean(exclude=["version", "updated_by"])

    assert raised.value.message_dict["fallbacks"] == [
        "Запасной провайдер 1: Цвет канта: нужен цвет вида #rrggbb, а не «1»."
    ]
