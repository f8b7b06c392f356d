from providers.base import ProviderDriver
from providers.local import LocalDriver

DRIVERS: dict[str, type[ProviderDriver]] = {
    LocalDriver.name: LocalDriver,
}

_instances: dict[str, ProviderDriver] = {}


def get_driver(name: str) -> ProviderDriver:
    """The process-wide driver instance for `name`; KeyError when there is none."""
    if name not in _instances:
        _instances[name] = DRIVERS[name]()
    return _instances[name]
