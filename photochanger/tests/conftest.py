import pytest

from photochanger.tests.browser import chromium


@pytest.fixture
def browser(monkeypatch, live_server):
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never fetch a browser
    with chromium(live_server.url) as driver:
        yield driver
