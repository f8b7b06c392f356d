"""Russian messages for provider settings that fail their driver's JSON Schema.

jsonschema speaks English and names keys (`'red' does not match '^#[0-9a-fA-F]{6}$'`); staff
read «Цвет канта: нужен цвет вида #rrggbb, а не «red».», with the field's `title` from the
schema. The slot page's script (static/js/slot.js, `schemaProblem`) checks the same rules with
the same words before anything is sent; keep the two in step.
"""

from collections.abc import Callable
from typing import Any

import jsonschema

COLOUR_PATTERN = "^#[0-9a-fA-F]{6}$"
SETTINGS_TITLE = "Параметры провайдера"
TYPE_NAMES = {
    "string": "текст",
    "integer": "целое число",
    "number": "число",
    "boolean": "да или нет",
    "object": "объект",
    "array": "список",
    "null": "пустое значение",
}
SHOWN_VALUE_MAX = 40


def settings_message(error: jsonschema.ValidationError, schema: dict[str, Any]) -> str:
    """One Russian sentence for `error`, raised by `schema` (a driver's settings schema)."""
    key = str(error.absolute_path[0]) if error.absolute_path else None
    field = _property(schema, key)
    title = field.get("title") or key or SETTINGS_TITLE
    return _MESSAGES.get(error.validator, _invalid)(error, field, title)


def _property(schema: dict[str, Any], key: str | None) -> dict[str, Any]:
    if key is None:
        return schema
    return schema.get("properties", {}).get(key, {})


def _required(error, field, title) -> str:
    properties = field.get("properties", {})
    missing = [name for name in error.validator_value if name not in error.instance]
    names = ", ".join(f"«{properties.get(name, {}).get('title', name)}»" for name in missing)
    return f"Заполните обязательное поле {names}."


def _additional(error, field, title) -> str:
    known = field.get("properties", {})
    extra = ", ".join(sorted(str(name) for name in error.instance if name not in known))
    allowed = ", ".join(known) or "никаких"
    return f"Неизвестный параметр: {extra}. Допустимые параметры: {allowed}."


def _type(error, field, title) -> str:
    wanted = (
        error.validator_value
        if isinstance(error.validator_value, list)
        else [error.validator_value]
    )
    names = " или ".join(TYPE_NAMES.get(name, str(name)) for name in wanted)
    return f"{title}: ожидается {names}, а не «{_shown(error.instance)}»."


def _enum(error, field, title) -> str:
    labels = field.get("x-enum-labels", {})
    options = ", ".join(str(labels.get(value, value)) for value in error.validator_value)
    return f"{title}: значения «{_shown(error.instance)}» нет, выберите: {options}."


def _pattern(error, field, title) -> str:
    if error.validator_value == COLOUR_PATTERN:
        return f"{title}: нужен цвет вида #rrggbb, а не «{_shown(error.instance)}»."
    return f"{title}: «{_shown(error.instance)}» — неверный формат{_hint(field)}."


def _bounds(error, field, title) -> str:
    low = field.get("minimum", field.get("exclusiveMinimum"))
    high = field.get("maximum", field.get("exclusiveMaximum"))
    if low is not None and high is not None:
        return f"{title}: от {_number(low)} до {_number(high)}, а не {_shown(error.instance)}."
    if low is not None:
        return f"{title}: не меньше {_number(low)}, а не {_shown(error.instance)}."
    return f"{title}: не больше {_number(high)}, а не {_shown(error.instance)}."


def _min_length(error, field, title) -> str:
    if error.validator_value == 1:
        return f"{title}: заполните поле."
    return f"{title}: не короче {error.validator_value} {_characters(error.validator_value)}."


def _max_length(error, field, title) -> str:
    limit, length = error.validator_value, len(error.instance)
    return f"{title}: не длиннее {limit} {_characters(limit)} (сейчас {length})."


def _invalid(error, field, title) -> str:
    return f"{title}: недопустимое значение «{_shown(error.instance)}»{_hint(field)}."


def _hint(field: dict[str, Any]) -> str:
    hint = field.get("x-pattern-hint")
    return f" ({hint})" if hint else ""


def _characters(count: int) -> str:
    """The genitive after «не длиннее / не короче N»: 1, 21, 101 символа; 2, 5, 11 символов."""
    return "символа" if count % 10 == 1 and count % 100 != 11 else "символов"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= SHOWN_VALUE_MAX else text[: SHOWN_VALUE_MAX - 1] + "…"


_MESSAGES: dict[str, Callable[..., str]] = {
    "required": _required,
    "additionalProperties": _additional,
    "type": _type,
    "enum": _enum,
    "pattern": _pattern,
    "minimum": _bounds,
    "maximum": _bounds,
    "exclusiveMinimum": _bounds,
    "exclusiveMaximum": _bounds,
    "minLength": _min_length,
    "maxLength": _max_length,
}
