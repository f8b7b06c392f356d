"""The providers PhotoChanger knows: one line each. Everything else derives from this."""

from providers.base import ProviderDriver
from providers.gemini import GeminiDriver
from providers.local import LocalDriver
from providers.turbotext import TurbotextDriver

DRIVERS: dict[str, type[ProviderDriver]] = {
    driver.name: driver for driver in (LocalDriver, GeminiDriver, TurbotextDriver)
}

_instances: dict[str, ProviderDriver] = {}


def get_driver(name: str) -> ProviderDriver:
    """The process-wide driver instance for `name`; KeyError when there is none."""
    if name not in _instances:
        _instances[name] = DRIVERS[name]()
    return _instances[name]


def provider_choices() -> list[tuple[str, str]]:
    return [(name, str(driver.label)) for name, driver in DRIVERS.items()]


def keyed_providers() -> list[str]:
    """Providers that need an API key, in registry order."""
    return [name for name, driver in DRIVERS.items() if driver.requires_api_key]
