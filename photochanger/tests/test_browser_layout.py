"""Every page fits phones (360 and 390 px) and a 1440×900 desktop: nothing scrolls sideways,
the header menu, the confirm dialog and toasts stay inside the screen.

The desktop and 390 px runs also leave a screenshot of every page in
test-artifacts/screenshots/ (`make screenshots` copies them to docs/screenshots/).
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec

from ingest.models import JobHistory
from ingest.tests.factories import JobFactory, store_result
from photochanger.tests.browser import (
    BROWSER_MARKS,
    emulate_screen,
    gradient_image,
    log_in,
    screenshot,
    wait,
    wait_for_toast,
)
from slots.models import Slot

pytestmark = BROWSER_MARKS

SCREENS = {"phone-360": (360, 740), "phone": (390, 844), "desktop": (1440, 900)}
SCREENSHOT_SCREENS = {"phone", "desktop"}
PAGES = {
    "login": "/login/",
    "dashboard": "/",
    "slot": "/slots/slot-001/",
    "settings": "/settings/",
    "stats": "/stats/",
    "gallery": "/public/slots/slot-001",
    "not-found": "/no-such-page/",
}
# What shows that a page has finished drawing what its scripts fetch.
READY = {
    "stats": "return document.querySelectorAll('[data-rows] tr').length === 15"
    " && document.querySelector('[data-chart] text') !== null",
    # Only pictures on screen: lazy ones further down may not load until scrolled to.
    "gallery": "return [...document.images].filter((image) =>"
    " image.getBoundingClientRect().top < window.innerHeight)"
    ".every((image) => image.complete && image.naturalWidth > 0)",
}
OVERFLOW = "return [document.documentElement.scrollWidth, window.innerWidth]"
# A box is in view when all of it lies inside the layout viewport (half a pixel of rounding).
IN_VIEW = """
const box = arguments[0].getBoundingClientRect();
return box.width > 0 && box.left >= -0.5 && box.top >= -0.5
  && box.right <= window.innerWidth + 0.5 && box.bottom <= window.innerHeight + 0.5;
"""


FLIPS = [Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.ROTATE_180, Image.Transpose.TRANSPOSE]


def make_jobs() -> None:
    """A busy hour on slot-001: results with previews for the gallery, a timeout, a failure."""
    now = timezone.now()
    for index, minutes_ago in enumerate((3, 9, 15, 22, 31, 40)):
        job = JobFactory(
            status=JobHistory.Status.DONE,
            started_at=now - timedelta(minutes=minutes_ago),
            finished_at=now - timedelta(minutes=minutes_ago) + timedelta(seconds=9),
            result_expires_at=now + timedelta(hours=72),
        )
        image = gradient_image(640, 480).transpose(FLIPS[index % len(FLIPS)])
        store_result(job, image, preview_side=320)
    JobFactory(status=JobHistory.Status.TIMEOUT, failure_reason="timeout", started_at=now)
    JobFactory(status=JobHistory.Status.FAILED, failure_reason="quota", started_at=now)


def open_page(driver, page: str) -> None:
    path = PAGES[page]
    if page == "gallery":  # a gallery opens only with its slot's key
        path += "?k=" + Slot.objects.get(pk="slot-001").gallery_token
    driver.get(driver.base_url + path)
    wait(driver, lambda d: d.execute_script("return document.readyState") == "complete")
    if page in READY:
        wait(driver, lambda d: d.execute_script(READY[page]))


def still(driver, element) -> bool:
    """True once the element's entrance animation is over (sliding toasts start off-screen)."""
    script = "return arguments[0].getAnimations().every((a) => a.playState !== 'running')"
    return driver.execute_script(script, element)


def wait_until_still(driver, element) -> None:
    wait(driver, lambda d: still(d, element))


def in_view(driver, element) -> bool:
    return element.is_displayed() and driver.execute_script(IN_VIEW, element)


def viewport_box(driver, element) -> dict:
    """Where the element is on the screen (Selenium's `rect` counts from the page's top)."""
    return driver.execute_script("return arguments[0].getBoundingClientRect().toJSON()", element)


@pytest.mark.parametrize("screen", SCREENS)
def test_no_page_scrolls_sideways(browser, screen):
    width, height = SCREENS[screen]
    make_jobs()
    log_in(browser)
    emulate_screen(browser, width, height)

    overflowing = {}
    for page in PAGES:
        open_page(browser, page)
        scroll_width, inner_width = browser.execute_script(OVERFLOW)
        if scroll_width > inner_width or inner_width != width:
            overflowing[page] = scroll_width
        if screen in SCREENSHOT_SCREENS:
            kind = "desktop" if screen == "desktop" else "phone"
            screenshot(browser, f"screenshots/{page}-{kind}")

    assert overflowing == {}, f"pages wider than the {width} px screen: {overflowing}"


def test_phone_menu_opens_from_the_keyboard_with_every_link_in_view(browser):
    log_in(browser)
    emulate_screen(browser, *SCREENS["phone"])
    open_page(browser, "dashboard")
    button = browser.find_element(By.CSS_SELECTOR, "[data-menu-button]")
    items = browser.find_elements(By.CSS_SELECTOR, "#site-nav a, #site-nav button")
    assert len(items) == 4  # Слоты, Статистика, Настройки, Выйти
    assert button.get_attribute("aria-expanded") == "false"
    assert not any(item.is_displayed() for item in items)

    button.send_keys(Keys.ENTER)

    wait(browser, lambda d: button.get_attribute("aria-expanded") == "true")
    wait_until_still(browser, browser.find_element(By.ID, "site-nav"))
    assert all(in_view(browser, item) for item in items)
    assert [item.text for item in items[2:]] == ["Настройки", "Выйти"]
    screenshot(browser, "screenshots/menu-phone")
    button.send_keys(Keys.TAB)
    assert browser.switch_to.active_element == items[0]
    items[0].send_keys(Keys.ESCAPE)
    wait(browser, lambda d: button.get_attribute("aria-expanded") == "false")
    assert browser.switch_to.active_element == button
    assert not items[0].is_displayed()


def test_phone_confirm_dialog_and_toast_are_fully_in_view(browser):
    log_in(browser)
    emulate_screen(browser, *SCREENS["phone"])
    open_page(browser, "settings")

    browser.find_element(By.XPATH, "//button[normalize-space()='Очистить мультимедиа кеш']").click()

    dialog = wait(browser, ec.visibility_of_element_located((By.ID, "confirm-dialog")))
    confirm_button = dialog.find_element(By.CSS_SELECTOR, "[data-confirm]")
    cancel_button = dialog.find_element(By.CSS_SELECTOR, "[value='cancel']")
    wait_until_still(browser, dialog)
    assert in_view(browser, confirm_button) and in_view(browser, cancel_button)
    screenshot(browser, "screenshots/confirm-phone")
    confirm_button.click()
    toast = wait_for_toast(browser, "Удалено файлов")
    # One condition: a toast stays up 4 s, and any moment of that shows whether it fits.
    wait(browser, lambda d: still(d, toast) and in_view(d, toast))
    stack = viewport_box(browser, browser.find_element(By.ID, "toasts"))
    assert stack["width"] >= SCREENS["phone"][0] - 32 and stack["top"] <= 16  # across the top


def test_desktop_toast_sits_top_right_in_view(browser):
    log_in(browser)
    emulate_screen(browser, *SCREENS["desktop"])
    open_page(browser, "settings")

    browser.find_element(By.CSS_SELECTOR, "[data-save]").click()

    toast = wait_for_toast(browser, "Настройки сохранены")
    wait(browser, lambda d: still(d, toast) and in_view(d, toast))
    box = viewport_box(browser, toast)
    client_width = browser.execute_script("return document.documentElement.clientWidth")
    assert client_width - box["right"] <= 40 and box["left"] >= client_width / 2
    assert box["top"] <= 120


def test_unknown_page_shows_the_russian_not_found_page(browser):
    open_page(browser, "not-found")

    assert browser.find_element(By.TAG_NAME, "h1").text == "Страница не найдена"
    assert browser.find_element(By.LINK_TEXT, "К списку слотов").get_attribute("href") == (
        browser.base_url + "/"
    )
