"""The slot page in headless Chromium: provider forms built from the drivers' schemas, the
chain, print and gallery, readiness and the confirmations before a live slot changes, and the
test photo shown as the booth receives it. Screenshots land in test-artifacts/slot-page/.
"""

import base64

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from core.runtime import set_runtime_setting
from ingest.models import JobHistory
from photochanger.tests.browser import (
    ARTIFACTS,
    BROWSER_MARKS,
    emulate_screen,
    image_file,
    log_in,
    wait,
)
from slots.models import Slot

pytestmark = BROWSER_MARKS

DIALOG_OPEN = "return document.getElementById('confirm-dialog').open"
SET_VALUE = (
    "arguments[0].value = arguments[1];"
    "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));"
)
# Controls the script built, with no label a screen reader could announce.
NAMELESS = """
return [...document.querySelectorAll('#slot-form input, #slot-form select, #slot-form textarea')]
  .filter((c) => c.type !== 'hidden' && !c.labels.length && !c.getAttribute('aria-label'))
  .map((c) => c.outerHTML);
"""


# Every toast and script error of the page, kept for page_report (toasts go away on their own).
RECORD = """
const seen = window.seen = [];
const dialog = document.getElementById('confirm-dialog');
const showModal = dialog.showModal.bind(dialog);
new MutationObserver((changes) => changes.forEach((change) => change.addedNodes.forEach(
  (node) => seen.push('toast: ' + node.textContent)))).observe(
  document.getElementById('toasts'), {childList: true});
window.addEventListener('error', (event) => seen.push('error: ' + event.message));
window.addEventListener('unhandledrejection', (event) => seen.push('rejected: ' + event.reason));
dialog.addEventListener('close', () => seen.push('closed: ' + dialog.returnValue));
dialog.showModal = () => {
  seen.push('asked: ' + dialog.textContent.trim().slice(0, 60));
  showModal();
};
"""


def open_slot(driver, slot_id: str) -> None:
    driver.get(f"{driver.base_url}/slots/{slot_id}/")
    wait(driver, ec.element_to_be_clickable((By.ID, "provider")))
    driver.execute_script(RECORD)


def click(driver, element) -> None:
    """A click in the middle of the screen, where the sticky header cannot cover the element."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def pick(driver, element_id: str, text: str) -> None:
    Select(driver.find_element(By.ID, element_id)).select_by_visible_text(text)


def chosen(driver, element_id: str) -> str:
    return Select(driver.find_element(By.ID, element_id)).first_selected_option.text


def save(driver) -> None:
    button = driver.find_element(By.CSS_SELECTOR, "[data-save]")
    wait(driver, lambda d: button.is_enabled())  # a save held by an answered question ends first
    click(driver, button)


def page_report(driver) -> str:
    """What the page showed when a wait ran out: its toasts, version and requests."""
    toasts = driver.execute_script("return window.seen")
    version = driver.find_element(By.CSS_SELECTOR, "[data-version]").text
    requests = driver.execute_script(
        "return performance.getEntriesByType('resource')"
        ".map((e) => `${e.name} ${e.responseStatus} ${Math.round(e.duration)} ms`)"
    )
    return f"seen {toasts}, version {version}, requests {requests}"


def waited(driver, condition) -> None:
    try:
        wait(driver, condition)
    except TimeoutException as timeout:
        raise AssertionError(page_report(driver)) from timeout


def saved_as(driver, version: int) -> None:
    """Waits until the page shows `version`: the PUT has answered and the page took it in."""
    waited(driver, lambda d: d.find_element(By.CSS_SELECTOR, "[data-version]").text == str(version))


def question(driver) -> str:
    waited(driver, lambda d: d.execute_script(DIALOG_OPEN))
    return driver.find_element(By.CSS_SELECTOR, "#confirm-dialog [data-message]").text


def answer(driver, *, confirm: bool) -> None:
    button = "[data-confirm]" if confirm else "[value='cancel']"
    driver.find_element(By.CSS_SELECTOR, f"#confirm-dialog {button}").click()
    wait(driver, lambda d: not d.execute_script(DIALOG_OPEN))


def error_text(driver, name: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f'[data-error-for="{name}"]').text


def full_page(driver, name: str, width: int) -> None:
    """The whole page at `width` as one picture, for the report and the docs."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    emulate_screen(driver, width, max(height, 600))
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True})
    path = ARTIFACTS / "slot-page" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


def test_the_provider_form_is_built_from_the_schema_and_round_trips(browser):
    log_in(browser)
    open_slot(browser, "slot-003")
    options = Select(browser.find_element(By.ID, "s-filter")).options
    assert [option.text for option in options] == [
        "По умолчанию — Сепия",
        "Сепия",
        "Чёрно-белый",
        "Тёплый",
        "Холодный",
        "Яркий",
    ]
    assert browser.find_element(By.ID, "s-intensity").get_attribute("type") == "range"
    assert not browser.find_element(By.ID, "s-border_color").is_displayed()  # frame only
    assert "Для специалистов" in browser.find_element(By.CSS_SELECTOR, ".expert summary").text
    assert not browser.find_element(By.ID, "settings_json").is_displayed()  # collapsed

    pick(browser, "s-filter", "Чёрно-белый")
    intensity = browser.find_element(By.ID, "s-intensity")
    intensity.send_keys(Keys.ARROW_LEFT * 4)  # 1 → 0.8 in steps of 0.05
    browser.find_element(By.ID, "s-delay_seconds").send_keys("2")
    pick(browser, "operation", "Кант")
    colour = browser.find_element(By.ID, "s-border_color")
    assert colour.get_attribute("type") == "color" and colour.is_displayed()
    browser.execute_script(SET_VALUE, colour, "#aa3355")
    save(browser)

    saved_as(browser, 2)
    settings = {"filter": "mono", "intensity": 0.8, "delay_seconds": 2, "border_color": "#aa3355"}
    assert Slot.objects.get(pk="slot-003").settings_json == settings
    assert Slot.objects.get(pk="slot-003").operation == "frame"
    browser.refresh()
    wait(browser, ec.element_to_be_clickable((By.ID, "provider")))
    assert chosen(browser, "operation") == "Кант"
    assert browser.find_element(By.ID, "s-border_color").get_attribute("value") == "#aa3355"
    pick(browser, "operation", "Цветовой фильтр")
    assert chosen(browser, "s-filter") == "Чёрно-белый"
    assert browser.find_element(By.ID, "s-intensity").get_attribute("value") == "0.8"
    assert browser.find_element(By.ID, "s-delay_seconds").get_attribute("value") == "2"
    assert browser.execute_script(NAMELESS) == []


def test_switching_provider_and_back_keeps_what_was_typed_for_each(browser):
    log_in(browser)
    open_slot(browser, "slot-003")
    pick(browser, "s-filter", "Тёплый")

    pick(browser, "provider", "Gemini")
    prompt = wait(browser, ec.visibility_of_element_located((By.ID, "prompt")))
    assert prompt.tag_name == "textarea"
    prompt.send_keys("Сохранить лицо, фон — летний сад")
    pick(browser, "s-safety", "Мягкий (блокировать только явное)")
    pick(browser, "provider", "Turbotext")
    pick(browser, "operation", "Замена объекта или фона")
    browser.find_element(By.ID, "s-seed").send_keys("42")
    pick(browser, "provider", "Локальный (офлайн)")

    assert chosen(browser, "s-filter") == "Тёплый"
    pick(browser, "provider", "Gemini")
    assert browser.find_element(By.ID, "prompt").get_attribute("value") == (
        "Сохранить лицо, фон — летний сад"
    )
    assert chosen(browser, "s-safety") == "Мягкий (блокировать только явное)"
    pick(browser, "provider", "Turbotext")
    assert chosen(browser, "operation") == "Замена объекта или фона"
    assert browser.find_element(By.ID, "s-seed").get_attribute("value") == "42"
    assert Slot.objects.get(pk="slot-003").version == 1  # nothing saved on the way


def test_settings_are_checked_in_russian_against_the_schema_before_sending(browser):
    log_in(browser)
    open_slot(browser, "slot-003")
    browser.find_element(By.ID, "s-delay_seconds").send_keys("500")
    browser.find_element(By.CSS_SELECTOR, ".expert summary").click()
    json_box = browser.find_element(By.ID, "settings_json")
    json_box.clear()
    json_box.send_keys('{"filter": "neon", "glow": 1}')

    save(browser)

    wait(browser, lambda d: error_text(d, "s-filter"))
    assert error_text(browser, "s-filter") == (
        "Фильтр: значения «neon» нет, выберите: Сепия, Чёрно-белый, Тёплый, Холодный, Яркий."
    )
    assert error_text(browser, "settings").startswith("Неизвестный параметр: glow.")
    assert browser.find_element(By.ID, "s-delay_seconds").get_attribute("value") == ""  # from JSON
    assert Slot.objects.get(pk="slot-003").version == 1

    json_box.clear()
    json_box.send_keys('{"delay_seconds": 500}')
    save(browser)
    wait(browser, lambda d: error_text(d, "s-delay_seconds"))
    assert error_text(browser, "s-delay_seconds") == "Задержка ответа, с: от 0 до 120, а не 500."
    field = browser.find_element(By.ID, "s-delay_seconds")
    assert field.get_attribute("aria-invalid") == "true"
    assert browser.switch_to.active_element == field
    assert Slot.objects.get(pk="slot-003").version == 1


def test_the_server_s_objections_are_shown_where_they_belong(browser):
    log_in(browser)
    open_slot(browser, "slot-003")
    browser.find_element(By.CSS_SELECTOR, "[data-add-fallback]").click()
    pick(browser, "fb1-operation", "Цветовой фильтр")
    pick(browser, "fb1-s-filter", "Сепия")  # the very same link as the slot's own

    save(browser)

    wait(browser, lambda d: error_text(d, "fallbacks"))
    assert error_text(browser, "fallbacks") == (
        "Одна и та же настройка провайдера указана в цепочке дважды."
    )
    assert Slot.objects.get(pk="slot-003").version == 1


def test_a_not_ready_slot_says_why_and_asks_before_it_is_saved(browser):
    Slot.objects.filter(pk="slot-004").update(
        provider="gemini", operation="image_edit", settings_json={"prompt": "Летний сад"}
    )
    log_in(browser)
    open_slot(browser, "slot-004")
    pill = browser.find_element(By.CSS_SELECTOR, "[data-state-pill]")
    assert pill.text == "Не готов"
    reasons = browser.find_element(By.CSS_SELECTOR, "[data-state-reasons]").text
    assert reasons == "Gemini: не задан API-ключ"
    link_status = browser.find_element(By.CSS_SELECTOR, "[data-primary-editor] [data-link-status]")
    assert link_status.text == "Gemini: не задан API-ключ"
    name = browser.find_element(By.ID, "display_name")
    name.clear()
    name.send_keys("Сад")

    save(browser)
    assert question(browser) == ("Слот не готов — Gemini: не задан API-ключ. Всё равно сохранить?")
    answer(browser, confirm=False)
    assert Slot.objects.get(pk="slot-004").display_name != "Сад"

    save(browser)
    question(browser)
    answer(browser, confirm=True)
    saved_as(browser, 2)
    assert Slot.objects.get(pk="slot-004").display_name == "Сад"
    assert pill.text == "Не готов"

    set_runtime_setting(key="gemini_api_key", value="AIza-test")
    save(browser)  # ready now: no question
    saved_as(browser, 3)
    assert pill.text == "Готов" and "ready" in pill.get_attribute("class")
    assert link_status.text == "Готов к работе"


def test_switching_a_live_slot_off_asks_first(browser):
    log_in(browser)
    open_slot(browser, "slot-005")
    browser.execute_script("arguments[0].click()", browser.find_element(By.ID, "is_active"))

    save(browser)
    assert question(browser).startswith("Отключить работающий слот?")
    answer(browser, confirm=False)
    assert Slot.objects.get(pk="slot-005").is_active

    save(browser)
    question(browser)
    answer(browser, confirm=True)
    saved_as(browser, 2)
    assert not Slot.objects.get(pk="slot-005").is_active
    assert browser.find_element(By.CSS_SELECTOR, "[data-state-pill]").text == "Отключён"


def test_changing_a_live_slot_s_provider_asks_first(browser):
    set_runtime_setting(key="gemini_api_key", value="AIza-test")
    log_in(browser)
    open_slot(browser, "slot-006")
    pick(browser, "provider", "Gemini")
    wait(browser, ec.visibility_of_element_located((By.ID, "prompt"))).send_keys("Летний сад")

    save(browser)
    assert question(browser) == (
        "Сменить провайдера работающего слота: Локальный (офлайн) → Gemini? "
        "Следующие снимки с фотобудки пойдут через Gemini."
    )
    answer(browser, confirm=False)
    assert Slot.objects.get(pk="slot-006").provider == "local"

    save(browser)
    question(browser)
    answer(browser, confirm=True)
    saved_as(browser, 2)
    slot = Slot.objects.get(pk="slot-006")
    assert (slot.provider, slot.settings_json) == ("gemini", {"prompt": "Летний сад"})
    assert browser.find_element(By.CSS_SELECTOR, "[data-model-name]").text == "Gemini"


def test_rotating_the_gallery_key_asks_first_and_shows_the_new_link_and_code(browser):
    log_in(browser)
    open_slot(browser, "slot-007")
    old = Slot.objects.get(pk="slot-007").gallery_token
    link = browser.find_element(By.ID, "gallery-url")
    assert link.get_attribute("value").endswith(f"/public/slots/slot-007?k={old}")
    code = browser.find_element(By.CSS_SELECTOR, "[data-gallery-qr]")
    wait(browser, lambda d: d.execute_script("return arguments[0].naturalWidth", code) > 0)
    rotate = browser.find_element(By.CSS_SELECTOR, "[data-rotate-token]")

    rotate.click()
    assert question(browser).startswith("Сменить ключ галереи?")
    answer(browser, confirm=False)
    assert Slot.objects.get(pk="slot-007").gallery_token == old

    first_code = code.get_attribute("src")
    rotate.click()
    question(browser)
    answer(browser, confirm=True)
    saved_as(browser, 2)
    new = Slot.objects.get(pk="slot-007").gallery_token
    assert new != old
    assert link.get_attribute("value").endswith(f"/public/slots/slot-007?k={new}")
    wait(browser, lambda d: code.get_attribute("src") != first_code)
    wait(browser, lambda d: d.execute_script("return arguments[0].naturalWidth", code) > 0)


def test_the_chain_editor_saves_fallbacks_in_order_with_their_readiness(browser):
    log_in(browser)
    open_slot(browser, "slot-008")
    add = browser.find_element(By.CSS_SELECTOR, "[data-add-fallback]")
    add.click()
    pick(browser, "fb1-operation", "Кант")
    browser.execute_script(SET_VALUE, browser.find_element(By.ID, "fb1-s-border_color"), "#123456")
    add.click()
    pick(browser, "fb2-provider", "Gemini")
    browser.find_element(By.ID, "fb2-prompt").send_keys("Портрет в студии")
    assert not add.is_displayed()  # two fallbacks at most
    second = browser.find_elements(By.CSS_SELECTOR, ".fallback")[1]
    click(browser, second.find_element(By.XPATH, ".//button[normalize-space()='Выше']"))
    pick(browser, "last_resort", "отдать оригинал с рамкой и QR-кодом")

    save(browser)

    saved_as(browser, 2)
    slot = Slot.objects.get(pk="slot-008")
    assert slot.fallbacks == [
        {
            "provider": "gemini",
            "operation": "image_edit",
            "settings": {"prompt": "Портрет в студии"},
        },
        {"provider": "local", "operation": "frame", "settings": {"border_color": "#123456"}},
    ]
    assert slot.last_resort == "original"
    legends = [legend.text for legend in browser.find_elements(By.CSS_SELECTOR, ".fallback legend")]
    assert legends == ["Запасной провайдер 1", "Запасной провайдер 2"]
    statuses = browser.find_elements(By.CSS_SELECTOR, ".fallback [data-link-status]")
    assert [status.text for status in statuses] == ["Gemini: не задан API-ключ", "Готов к работе"]
    assert browser.find_element(By.CSS_SELECTOR, "[data-state-pill]").text == "Готов"

    first = browser.find_elements(By.CSS_SELECTOR, ".fallback")[0]
    click(browser, first.find_element(By.XPATH, ".//button[normalize-space()='Убрать']"))
    save(browser)
    saved_as(browser, 3)
    assert [link["provider"] for link in Slot.objects.get(pk="slot-008").fallbacks] == ["local"]


def test_a_saved_print_preset_is_the_size_of_the_test_result(browser, tmp_path):
    log_in(browser)
    open_slot(browser, "slot-009")
    pick(browser, "print_preset", "Фото 10×15 (4×6″), альбомная")
    size = browser.find_element(By.CSS_SELECTOR, "[data-print-size]")
    assert size.text.startswith("Отпечаток 1800 × 1200 px")
    pick(browser, "qr_corner", "справа внизу")
    save(browser)
    saved_as(browser, 2)
    profile = Slot.objects.get(pk="slot-009").output_profile
    assert (profile["aspect"], profile["long_side"], profile["sharpen"]) == ("3:2", 1800, True)

    browser.execute_script("arguments[0].click()", browser.find_element(By.ID, "toggle-test"))
    browser.find_element(By.CSS_SELECTOR, "[data-test-input]").send_keys(image_file(tmp_path))
    click(browser, browser.find_element(By.CSS_SELECTOR, "[data-test-run]"))

    result_size = browser.find_element(By.CSS_SELECTOR, "[data-result-size]")
    wait(browser, lambda d: result_size.text)
    assert result_size.text.startswith("Отпечаток: 1800 × 1200 px · JPEG")
    before = browser.find_element(By.CSS_SELECTOR, "[data-before-size]")
    wait(browser, lambda d: before.text == "(480 × 360 px)")
    warnings = browser.find_element(By.CSS_SELECTOR, "[data-result-warnings]")
    wait(browser, lambda d: warnings.is_displayed())
    assert "увеличен в 3.8 раза до 1800×1200 px" in warnings.text
    job = JobHistory.objects.get()
    assert job.source == "ui_test" and job.warnings
    browser.execute_script(
        "arguments[0].scrollIntoView()", browser.find_element(By.ID, "test-panel")
    )
    full_page(browser, "test-run-desktop", 1440)


@pytest.mark.parametrize("width", [360, 390])
def test_the_opened_up_slot_page_fits_a_phone(browser, tmp_path, width):
    Slot.objects.filter(pk="slot-010").update(
        fallbacks=[{"provider": "local", "operation": "frame", "settings": {}}]
    )
    log_in(browser)
    emulate_screen(browser, width, 844)
    open_slot(browser, "slot-010")
    pick(browser, "print_preset", "Свой размер")
    pick(browser, "fit", "вписать целиком, с полями")
    for summary in browser.find_elements(By.CSS_SELECTOR, "#slot-form summary"):
        browser.execute_script("arguments[0].click()", summary)
    browser.execute_script("arguments[0].click()", browser.find_element(By.ID, "toggle-templates"))
    browser.execute_script("arguments[0].click()", browser.find_element(By.ID, "toggle-test"))
    browser.find_element(By.CSS_SELECTOR, "[data-test-input]").send_keys(image_file(tmp_path))
    click(browser, browser.find_element(By.CSS_SELECTOR, "[data-test-run]"))
    result = browser.find_element(By.CSS_SELECTOR, "[data-result-image]")
    wait(browser, lambda d: d.execute_script("return arguments[0].naturalWidth", result) > 0)

    scroll_width, inner_width = browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert (scroll_width, inner_width) == (width, width)
    assert browser.execute_script(NAMELESS) == []
    messages = [entry["message"] for entry in browser.get_log("browser")]
    assert not [m for m in messages if "Content Security Policy" in m], messages
    full_page(browser, f"phone-{width}", width)


def test_the_slot_page_at_desktop_size(browser):
    Slot.objects.filter(pk="slot-011").update(
        provider="gemini",
        operation="image_edit",
        settings_json={"prompt": "Сохранить лицо и позу, заменить фон на летний сад"},
        fallbacks=[{"provider": "local", "operation": "filter", "settings": {"filter": "warm"}}],
        output_profile={"aspect": "3:2", "long_side": 1800, "sharpen": True},
        qr_corner="bottom-right",
    )
    log_in(browser)
    emulate_screen(browser, 1440, 900)
    open_slot(browser, "slot-011")

    assert chosen(browser, "print_preset") == "Фото 10×15 (4×6″), альбомная"
    scroll_width, inner_width = browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width == 1440
    full_page(browser, "desktop", 1440)
