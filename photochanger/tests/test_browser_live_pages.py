"""The dashboard, settings and statistics pages in headless Chromium: they tell the truth live,
in the server's time zone, refuse a stale save, ask before what cannot be undone, and keep
their filters in the address."""

import re
from datetime import timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import httpx
import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from core.runtime import load_runtime_settings, set_runtime_setting
from ingest.models import JobHistory
from ingest.passwords import set_ingest_password
from ingest.tests.factories import JobFactory, store_result
from ingest.tests.live_server import DSLR_FIELDS, PASSWORD
from media.images import JPEG, encode
from photochanger.tests.browser import (
    BROWSER_MARKS,
    confirm,
    emulate_screen,
    gradient_image,
    log_in,
    screenshot,
    wait,
    wait_for_toast,
)
from slots.models import Slot

pytestmark = BROWSER_MARKS

MOSCOW = ZoneInfo("Europe/Moscow")
OVERFLOW = "return [document.documentElement.scrollWidth, window.innerWidth]"
# A page's own marker survives only as long as the page is not loaded again.
MARK = "window.__notReloaded = true"
NOT_RELOADED = "return window.__notReloaded === true"


def card(driver, slot_id: str):
    return driver.find_element(By.CSS_SELECTOR, f'[data-slot="{slot_id}"]')


def field_text(driver, slot_id: str, name: str) -> str:
    return card(driver, slot_id).find_element(By.CSS_SELECTOR, f'[data-field="{name}"]').text


def done_job_with_files(finished_at, **fields) -> JobHistory:
    job = JobFactory(
        status=JobHistory.Status.DONE,
        started_at=finished_at - timedelta(seconds=9),
        finished_at=finished_at,
        result_expires_at=timezone.now() + timedelta(hours=72),
        **fields,
    )
    store_result(job, gradient_image(320, 240), preview_side=160)
    return job


def open_settings(driver):
    log_in(driver)
    driver.get(driver.base_url + "/settings/")
    wait(driver, ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-save]")))
    driver.execute_script(MARK)


def set_value(driver, element_id: str, value: str) -> None:
    """Types into a field even inside a closed section, as the page's own input events see it."""
    driver.execute_script(
        "const input = document.getElementById(arguments[0]); input.value = arguments[1];"
        "input.dispatchEvent(new Event('input', {bubbles: true}));",
        element_id,
        value,
    )


def dialog_message(driver) -> str:
    dialog = wait(driver, ec.visibility_of_element_located((By.ID, "confirm-dialog")))
    return dialog.find_element(By.CSS_SELECTOR, "[data-message]").text


def cancel(driver) -> None:
    dialog = driver.find_element(By.ID, "confirm-dialog")
    dialog.find_element(By.CSS_SELECTOR, "[value='cancel']").click()
    wait(driver, lambda d: not dialog.is_displayed())


# --- Dashboard -------------------------------------------------------------------------------


def test_dashboard_shows_an_upload_without_a_reload(browser, live_server):
    set_ingest_password(raw=PASSWORD)
    log_in(browser)
    browser.execute_script(MARK)
    assert field_text(browser, "slot-001", "last_job_at") == "—"
    assert (
        not card(browser, "slot-001")
        .find_element(By.CSS_SELECTOR, "[data-field=result]")
        .is_displayed()
    )

    photo = encode(gradient_image(480, 360), JPEG).data
    answer = httpx.post(
        f"{live_server.url}/api/ingest/slot-001",
        data=DSLR_FIELDS,
        files={"fileToUpload": ("IMG_0003.JPG", photo, "image/jpeg")},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text

    wait(browser, lambda d: field_text(d, "slot-001", "last_job_at").endswith("MSK"))
    figure = card(browser, "slot-001").find_element(By.CSS_SELECTOR, "[data-field=result]")
    wait(browser, lambda d: figure.is_displayed())
    image = figure.find_element(By.TAG_NAME, "img")
    wait(browser, lambda d: d.execute_script("return arguments[0].naturalWidth", image) > 0)
    job = JobHistory.objects.get()
    assert image.get_attribute("src").endswith(f"/public/results/{job.job_id}/preview")
    assert browser.execute_script(NOT_RELOADED)
    assert "Обновлено" in browser.find_element(By.CSS_SELECTOR, "[data-refresh-state]").text
    screenshot(browser, "dashboard-live")


def test_dashboard_shows_a_failing_slot_and_its_reason_in_russian_as_it_happens(browser):
    log_in(browser)
    browser.execute_script(MARK)
    assert field_text(browser, "slot-002", "status") == "Готов"

    JobFactory(slot=Slot.objects.get(pk="slot-002"), status="failed", failure_reason="quota")

    wait(browser, lambda d: field_text(d, "slot-002", "status") == "Ошибки")
    reasons = field_text(browser, "slot-002", "reasons")
    assert reasons == "Последний снимок не обработан: Исчерпана квота провайдера"
    assert field_text(browser, "slot-002", "last_error") == ""  # said once, beside the pill

    # A test run that fails does not make the slot failing, but its error shows.
    JobFactory(
        slot=Slot.objects.get(pk="slot-003"),
        status="failed",
        source="ui_test",
        failure_reason="network",
    )
    wait(
        browser,
        lambda d: (
            field_text(d, "slot-003", "last_error") == "Последняя ошибка: Нет связи с провайдером"
        ),
    )
    assert field_text(browser, "slot-003", "status") == "Готов"
    assert browser.execute_script(NOT_RELOADED)


def test_dashboard_shows_wrong_passwords_of_the_last_hour(browser, monkeypatch):
    monkeypatch.setattr("ingest.status.wrong_password_counts", lambda since: {"slot-004": 12})
    log_in(browser)

    warning = card(browser, "slot-004").find_element(
        By.CSS_SELECTOR, "[data-field=wrong_passwords]"
    )

    assert warning.text == "Неверный пароль: 12 за час"
    assert (
        not card(browser, "slot-005")
        .find_element(By.CSS_SELECTOR, "[data-field=wrong_passwords]")
        .is_displayed()
    )


def visible(driver) -> list[str]:
    cards = driver.find_elements(By.CSS_SELECTOR, ".slot-card")
    return [card.get_attribute("data-slot") for card in cards if card.is_displayed()]


def test_dashboard_filters_by_name_and_state_and_remembers_the_compact_list(browser):
    Slot.objects.filter(pk="slot-002").update(is_active=False)
    Slot.objects.filter(pk="slot-007").update(display_name="Свадьба у фонтана")
    log_in(browser)

    search = browser.find_element(By.ID, "slot-search")
    search.send_keys("фонтан")
    wait(browser, lambda d: visible(d) == ["slot-007"])
    search.send_keys(Keys.CONTROL, "a")
    search.send_keys(Keys.DELETE, "slot-01")
    wait(browser, lambda d: visible(d) == [f"slot-0{n}" for n in range(10, 16)])
    search.send_keys(Keys.CONTROL, "a")
    search.send_keys(Keys.DELETE)
    Select(browser.find_element(By.ID, "state-filter")).select_by_value("switched_off")
    wait(browser, lambda d: visible(d) == ["slot-002"])
    assert "1 из 15" in browser.find_element(By.CSS_SELECTOR, "[data-shown]").text

    compact = browser.find_element(By.CSS_SELECTOR, "[data-view=compact]")
    compact.click()
    assert compact.get_attribute("aria-pressed") == "true"
    browser.refresh()
    wait(
        browser,
        lambda d: (
            "compact" in d.find_element(By.CSS_SELECTOR, "[data-slots]").get_attribute("class")
        ),
    )
    assert (
        browser.find_element(By.CSS_SELECTOR, "[data-view=compact]").get_attribute("aria-pressed")
        == "true"
    )
    assert not card(browser, "slot-001").find_element(By.CSS_SELECTOR, ".copy-field").is_displayed()


@pytest.mark.parametrize("width", [360, 390])
def test_dashboard_fits_a_phone_in_both_views(browser, width):
    done_job_with_files(timezone.now())
    log_in(browser)
    emulate_screen(browser, width, 800)
    for view in ("cards", "compact"):
        browser.find_element(By.CSS_SELECTOR, f"[data-view={view}]").click()
        scroll_width, inner_width = browser.execute_script(OVERFLOW)
        assert scroll_width <= inner_width == width, (view, scroll_width)
    screenshot(browser, f"dashboard-compact-{width}")


# --- One time zone ---------------------------------------------------------------------------


def test_a_job_shows_the_same_server_time_with_its_zone_on_the_dashboard_and_in_stats(browser):
    # The browser sits in New York; the pages must still show Moscow's clock, named.
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "America/New_York"})
    finished = (timezone.now() - timedelta(minutes=20)).replace(second=0, microsecond=0)
    done_job_with_files(finished)
    shown = finished.astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M MSK")
    log_in(browser)
    assert browser.execute_script("return new Date().getTimezoneOffset()") in (240, 300)

    dashboard_time = lambda d: field_text(d, "slot-001", "result")  # noqa: E731
    assert dashboard_time(browser) == shown  # as the server drew it
    browser.execute_script("document.dispatchEvent(new Event('visibilitychange'))")  # redraw now
    wait(
        browser,
        lambda d: "Обновлено" in d.find_element(By.CSS_SELECTOR, "[data-refresh-state]").text,
    )
    assert dashboard_time(browser) == shown  # as the script draws it from the API
    assert field_text(browser, "slot-001", "last_job_at") == (
        (finished - timedelta(seconds=9)).astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M MSK")
    )

    browser.get(browser.base_url + "/stats/")
    caption = wait(
        browser, ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-latest] .muted"))
    )
    assert caption.text == f"slot-001 · {shown}"
    hint = browser.find_element(By.CSS_SELECTOR, "[data-chart] ~ .hint").text
    assert "Europe/Moscow" in hint


# --- Settings --------------------------------------------------------------------------------


def test_a_stale_settings_save_is_refused_with_the_conflict_message_and_a_reload(browser):
    open_settings(browser)
    slider = browser.find_element(By.ID, "sync_response_seconds")
    slider.send_keys(Keys.ARROW_LEFT)
    set_runtime_setting(key="gallery_size", value=20)  # someone else saves meanwhile

    browser.find_element(By.CSS_SELECTOR, "[data-save]").click()

    notice = wait(browser, ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-conflict]")))
    assert "Настройки уже изменил кто-то другой — обновите страницу" in notice.text
    assert load_runtime_settings().sync_response_seconds == 48  # nothing of the stale save
    reload = notice.find_element(By.CSS_SELECTOR, "[data-reload]")
    assert browser.switch_to.active_element == reload
    screenshot(browser, "settings-conflict")
    reload.click()
    wait(browser, lambda d: not d.execute_script(NOT_RELOADED))
    assert browser.find_element(By.ID, "gallery_size").get_attribute("value") == "20"


def test_settings_ask_before_replacing_or_removing_a_key_and_update_without_a_reload(browser):
    set_runtime_setting(key="gemini_api_key", value="AIza-old")
    open_settings(browser)

    browser.find_element(By.ID, "key-gemini").send_keys("AIza-new")
    browser.find_element(By.CSS_SELECTOR, "[data-save]").click()
    assert "Заменить сохранённый ключ (Gemini)" in dialog_message(browser)
    cancel(browser)
    assert load_runtime_settings().api_key("gemini") == "AIza-old"

    browser.find_element(By.ID, "key-gemini").clear()
    browser.find_element(By.CSS_SELECTOR, '[data-remove-key="gemini"]').click()
    assert "Удалить ключ Gemini?" in dialog_message(browser)
    confirm(browser)
    state = browser.find_element(By.CSS_SELECTOR, '[data-key-state="gemini"]')
    wait(browser, lambda d: state.text == "Не задан")
    assert not browser.find_element(By.CSS_SELECTOR, '[data-remove-key="gemini"]').is_displayed()
    assert load_runtime_settings().api_key("gemini") == ""

    browser.find_element(By.ID, "key-turbotext").send_keys("tt-key")  # none stored: no question
    browser.find_element(By.CSS_SELECTOR, "[data-save]").click()
    turbotext = browser.find_element(By.CSS_SELECTOR, '[data-key-state="turbotext"]')
    wait(
        browser, lambda d: turbotext.text.startswith("Задан · ") and turbotext.text.endswith("MSK")
    )
    assert browser.find_element(By.CSS_SELECTOR, '[data-remove-key="turbotext"]').is_displayed()
    assert browser.execute_script(NOT_RELOADED)


def test_settings_ask_before_rotating_the_ingest_password(browser):
    set_ingest_password(raw="old-booth-password")
    open_settings(browser)
    before = load_runtime_settings().ingest_password_hash

    browser.find_element(By.ID, "ingest_password").send_keys("new-booth-password")
    browser.find_element(By.CSS_SELECTOR, "[data-save]").click()
    assert "Сменить ingest-пароль?" in dialog_message(browser)
    cancel(browser)
    assert load_runtime_settings().ingest_password_hash == before

    browser.find_element(By.CSS_SELECTOR, "[data-save]").click()
    confirm(browser)
    wait_for_toast(browser, "Настройки сохранены")
    assert load_runtime_settings().ingest_password_hash != before
    assert "Последняя смена:" in browser.find_element(By.CSS_SELECTOR, "[data-password-state]").text


def test_a_question_asked_right_after_another_gets_its_own_answer(browser):
    """The dialog's "close" event comes after the next question may be open: a cancelled
    question must not be confirmed by the next one's answer, nor the next one cancelled."""
    log_in(browser)

    answers = browser.execute_async_script(
        """const done = arguments[0];
        const dialog = document.getElementById("confirm-dialog");
        const first = PC.confirmAction("Удалить ключ?");
        dialog.querySelector("[value=cancel]").click();
        const second = PC.confirmAction("Сменить пароль?");
        dialog.querySelector("[data-confirm]").click();
        Promise.all([first, second]).then(done);"""
    )

    assert answers == [False, True]
    browser.execute_script(
        "window.__answer = 'none'; PC.confirmAction('Очистить?').then((a) => (window.__answer = a))"
    )
    wait(browser, ec.visibility_of_element_located((By.ID, "confirm-dialog")))
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait(browser, lambda d: d.execute_script("return window.__answer") is False)


def test_settings_check_the_servers_bounds_open_the_section_and_focus_the_first_error(browser):
    open_settings(browser)
    section = browser.find_element(By.ID, "result_ttl_hours").find_element(
        By.XPATH, "./ancestor::details"
    )
    assert section.get_attribute("open") is None  # collapsed to begin with
    version = browser.execute_script(
        "return JSON.parse(document.getElementById('settings-state').textContent).version"
    )
    set_value(browser, "result_ttl_hours", "0")
    set_value(browser, "per_slot_concurrency", "101")

    browser.find_element(By.CSS_SELECTOR, "[data-save]").click()

    wait(browser, lambda d: section.get_attribute("open") is not None)
    assert browser.switch_to.active_element.get_attribute("id") == "result_ttl_hours"
    error = browser.find_element(By.CSS_SELECTOR, '[data-error-for="result_ttl_hours"]').text
    assert error == "Целое число от 1 до 720."
    assert browser.find_element(
        By.CSS_SELECTOR, '[data-error-for="per_slot_concurrency"]'
    ).text == ("Целое число от 1 до 100.")
    assert load_runtime_settings().result_ttl_hours == 72  # nothing was sent
    assert version == browser.execute_script(
        "return JSON.parse(document.getElementById('settings-state').textContent).version"
    )
    screenshot(browser, "settings-errors")


def test_settings_warn_before_leaving_with_unsaved_changes(browser):
    leaving = (
        "const event = new Event('beforeunload', {cancelable: true});"
        "window.dispatchEvent(event); return event.defaultPrevented"
    )
    open_settings(browser)
    assert browser.execute_script(leaving) is False

    browser.find_element(By.ID, "sync_response_seconds").send_keys(Keys.ARROW_LEFT)
    assert browser.execute_script(leaving) is True
    assert browser.find_element(By.CSS_SELECTOR, "[data-unsaved]").is_displayed()

    browser.find_element(By.CSS_SELECTOR, "[data-save]").click()
    wait_for_toast(browser, "Настройки сохранены")
    assert browser.execute_script(leaving) is False


def test_the_dslr_timeout_follows_the_sync_window(browser):
    open_settings(browser)
    slider = browser.find_element(By.ID, "sync_response_seconds")
    booth = browser.find_element(By.CSS_SELECTOR, "[data-booth-timeout]")
    assert booth.text == "63"

    for _ in range(18):
        slider.send_keys(Keys.ARROW_LEFT)

    assert browser.find_element(By.CSS_SELECTOR, "[data-slider-value]").text == "30"
    assert booth.text == "45"


# --- Statistics ------------------------------------------------------------------------------


def total(driver) -> str:
    return driver.find_element(
        By.CSS_SELECTOR, '.window-total [data-counter="jobs_last_window"]'
    ).text


def test_stats_filters_live_in_the_address_through_reload_back_and_forward(browser):
    JobFactory(slot=Slot.objects.get(pk="slot-002"), source="ui_test")
    log_in(browser)
    browser.get(browser.base_url + "/stats/")
    wait(browser, lambda d: total(d) == "0")

    Select(browser.find_element(By.ID, "window")).select_by_value("1440")
    Select(browser.find_element(By.ID, "slot-filter")).select_by_value("slot-002")
    Select(browser.find_element(By.ID, "source-filter")).select_by_value("all")
    wait(
        browser,
        lambda d: d.current_url.endswith("?window_minutes=1440&slot_id=slot-002&source=all"),
    )
    wait(browser, lambda d: total(d) == "1")

    browser.refresh()
    wait(browser, lambda d: total(d) == "1")
    chosen = [
        Select(browser.find_element(By.ID, name)).first_selected_option.get_attribute("value")
        for name in ("window", "slot-filter", "source-filter")
    ]
    assert chosen == ["1440", "slot-002", "all"]

    browser.back()
    wait(browser, lambda d: d.current_url.endswith("source=ingest"))
    wait(
        browser,
        lambda d: (
            Select(d.find_element(By.ID, "source-filter")).first_selected_option.get_attribute(
                "value"
            )
            == "ingest"
        ),
    )
    wait(browser, lambda d: total(d) == "0")
    browser.forward()
    wait(browser, lambda d: total(d) == "1")


def test_stats_speak_russian_in_reasons_states_and_tooltips(browser):
    JobFactory(status="done", started_at=timezone.now() - timedelta(seconds=30))
    JobFactory(status="failed", failure_reason="quota")  # the latest: the slot is failing
    log_in(browser)
    browser.get(browser.base_url + "/stats/")
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-rows] tr")) == 15)

    first = browser.find_elements(By.CSS_SELECTOR, "[data-rows] tr")[0]
    cells = [cell.text for cell in first.find_elements(By.TAG_NAME, "td")]
    assert "Исчерпана квота провайдера" in cells and "quota" not in cells
    assert first.find_element(By.CSS_SELECTOR, ".pill").text == "Ошибки"
    titles = browser.execute_script(
        "return [...document.querySelectorAll('[data-chart] .bucket > title')]"
        ".map((title) => title.textContent)"
    )
    counts = [
        re.fullmatch(r".+ MSK — задач: (\d+), таймаутов: (\d+), ошибок: (\d+)", t) for t in titles
    ]
    assert titles and all(counts), titles  # no "jobs 4" any more
    assert [sum(int(match[n]) for match in counts) for n in (1, 2, 3)] == [2, 0, 1]


@pytest.mark.parametrize(
    ("window", "shape"),
    [(60, r"\d\d:\d\d"), (1440, r"\d\d\.\d\d \d\d:\d\d"), (10080, r"\d\d\.\d\d")],
)
def test_stats_time_labels_are_readable_on_a_phone(browser, window, shape):
    now = timezone.now()
    for hours in range(0, 7 * 24, 5):
        JobFactory(started_at=now - timedelta(hours=hours, minutes=1))
    log_in(browser)
    emulate_screen(browser, 390, 844)
    browser.get(browser.base_url + f"/stats/?window_minutes={window}")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-chart] text"))

    labels = browser.execute_script(
        """const chart = document.querySelector('[data-chart]').getBoundingClientRect();
        return [...document.querySelectorAll('[data-chart] text')].map((node) => {
          const box = node.getBoundingClientRect();
          return {text: node.textContent, left: box.left, right: box.right,
                  inside: box.left >= chart.left - 0.5 && box.right <= chart.right + 0.5,
                  size: parseFloat(getComputedStyle(node).fontSize)};
        });"""
    )
    texts = [label["text"] for label in labels]
    assert len(labels) >= 2 and len(set(texts)) == len(texts), texts  # no «30.11», «30.11»
    assert all(re.fullmatch(shape, text) for text in texts), texts
    assert all(label["inside"] and label["size"] >= 12 for label in labels), labels
    assert all(a["right"] + 4 <= b["left"] for a, b in pairwise(labels)), labels
    # On the server's clock: the last label is the current bucket as Moscow writes it (or the
    # next one, should the page have loaded just after the hour turned).
    moments = [(now + timedelta(minutes=m)).astimezone(MOSCOW) for m in (0, 2)]
    if window in (1440, 10080):
        pattern = "%d.%m %H:00" if window == 1440 else "%d.%m"
        assert texts[-1] in {moment.strftime(pattern) for moment in moments}
    screenshot(browser, f"stats-{window}-phone")
