from providers.base import ProviderDriver
from providers.gemini import GeminiDriver
from providers.local import LocalDriver
from providers.turbotext import TurbotextDriver

DRIVERS: dict[str, type[ProviderDriver]] = {
    LocalDriver.name: LocalDriver,
    GeminiDriver.name: GeminiDriver,
    TurbotextDriver.name: TurbotextDriver,
}

_instances: dict[str, ProviderDriver] = {}


def get_driver(name: str) -> ProviderDriver:
    """The process-wide driver instance for `name`; KeyError when there is none."""
    if name not in _instances:
        _instances[name] = DRIVERS[name]()
    return _instances[name]
