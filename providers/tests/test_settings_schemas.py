"""Every driver's settings schema carries what the slot page shows, and it is consistent with the
schema's own rules (CONTRIBUTING.md, "The settings schema")."""

import jsonschema
import pytest

from providers.registry import DRIVERS

SETTINGS = [
    (name, key, prop)
    for name, driver in DRIVERS.items()
    for key, prop in driver.settings_schema["properties"].items()
]
IDS = [f"{name}.{key}" for name, key, _prop in SETTINGS]
CYRILLIC = set("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")


@pytest.mark.parametrize("name", DRIVERS)
def test_schemas_are_valid_and_refuse_unknown_keys(name):
    schema = DRIVERS[name].settings_schema

    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(("name", "key", "prop"), SETTINGS, ids=IDS)
def test_every_setting_has_a_russian_title(name, key, prop):
    assert CYRILLIC & set(prop.get("title", "").lower()), f"{name}.{key} needs a Russian title"


@pytest.mark.parametrize(("name", "key", "prop"), SETTINGS, ids=IDS)
def test_presentation_keys_agree_with_the_schema(name, key, prop):
    driver = DRIVERS[name]
    enum = prop.get("enum") or next((b["enum"] for b in prop.get("anyOf", []) if "enum" in b), [])

    assert set(prop.get("x-enum-labels", {})) <= set(enum)
    assert set(prop.get("x-operations", driver.operations)) <= set(driver.operations)
    if "x-step" in prop:
        assert "minimum" in prop and "maximum" in prop
    if "default" in prop:
        jsonschema.validate(prop["default"], prop)


def test_enum_labels_name_every_choice_where_a_schema_gives_them():
    unnamed = [
        f"{name}.{key}={value}"
        for name, key, prop in SETTINGS
        if "x-enum-labels" in prop and "enum" in prop
        for value in prop["enum"]
        if value not in prop["x-enum-labels"]
    ]

    assert unnamed == []
