"""Headless Chromium (Debian's package) for the browser tests, and the steps they share.

Nothing is downloaded: the driver is /usr/bin/chromedriver and Selenium Manager is kept offline.
"""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image, ImageOps
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from core.tests.factories import PASSWORD, StaffFactory

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1366,1000",
)
# A loaded 2-core machine can take a while to start Chromium or answer a first request.
TIMEOUT = 30

BROWSER_MARKS = [
    pytest.mark.browser,
    # The live server runs in another thread, so the data must be committed.
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="no /usr/bin/chromium: apt-get install chromium chromium-driver",
    ),
]


@contextmanager
def chromium(base_url: str) -> Iterator[WebDriver]:
    """A headless Chromium with a throw-away profile; `driver.base_url` is the live server."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory(prefix="pc-chromium-") as profile:
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP violations land there
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        driver.base_url = base_url
        try:
            yield driver
        finally:
            driver.quit()


def wait(driver, condition, seconds=TIMEOUT):
    return WebDriverWait(driver, seconds).until(condition)


def screenshot(driver, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    return path


def emulate_screen(driver, width: int, height: int) -> None:
    """The page as a screen of that size shows it; below 800 px a phone (touch, no scrollbars).

    A phone zooms out to fit a page wider than the screen, so there window.innerWidth grows with
    the overflow: layout checks compare against the requested width, not innerWidth alone.
    """
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 800}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)


def log_in(driver) -> None:
    StaffFactory(username="serg")
    driver.get(driver.base_url + "/login/")
    # Keyboard only: the focus starts in the login field, Tab moves on, Enter submits.
    driver.switch_to.active_element.send_keys("serg", Keys.TAB, PASSWORD, Keys.ENTER)
    wait(driver, ec.url_to_be(driver.base_url + "/"))


def wait_for_toast(driver, text: str):
    """Waits until a toast containing `text` is shown (earlier toasts may still be up)."""

    def shown(d):
        matching = [t for t in d.find_elements(By.CSS_SELECTOR, ".toast") if text in t.text]
        return matching[-1] if matching else False

    return wait(driver, shown)


def confirm(driver) -> None:
    dialog = wait(driver, ec.visibility_of_element_located((By.ID, "confirm-dialog")))
    dialog.find_element(By.CSS_SELECTOR, "[data-confirm]").click()


def image_file(tmp_path, name="photo.jpg") -> str:
    """A colourful gradient, so a filter's effect shows in the screenshots."""
    gradient_image(480, 360).save(tmp_path / name, "JPEG" if name.endswith(".jpg") else "PNG")
    return str(tmp_path / name)


def gradient_image(width: int, height: int) -> Image.Image:
    shade = Image.linear_gradient("L").resize((width, height))
    return ImageOps.colorize(shade, "#1b6fa8", "#f6c453", mid="#f08a5d")
