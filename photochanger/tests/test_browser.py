"""The staff pages in headless Chromium (Debian's package), against pytest-django's live server.

Screenshots of every flow land in test-artifacts/. The driver set-up lives in browser.py.
"""

from datetime import timedelta

from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from core.runtime import load_runtime_settings
from ingest.models import JobHistory
from ingest.tests.factories import JobFactory
from photochanger.tests.browser import (
    BROWSER_MARKS,
    confirm,
    image_file,
    log_in,
    screenshot,
    wait,
    wait_for_toast,
)
from slots.models import Slot, SlotTemplateMedia

pytestmark = BROWSER_MARKS


def test_staff_logs_in_and_copies_an_ingest_link(browser):
    browser.get(browser.base_url + "/")
    assert "/login/" in browser.current_url
    screenshot(browser, "login")

    log_in(browser)
    cards = browser.find_elements(By.CSS_SELECTOR, ".slot-card")
    assert len(cards) == 15
    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {
            "origin": browser.base_url,
            "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
        },
    )
    cards[0].find_element(By.CSS_SELECTOR, "[data-copy]").click()

    wait_for_toast(browser, "Ссылка скопирована")
    copied = browser.execute_async_script(
        "navigator.clipboard.readText().then(arguments[0], () => arguments[0](''))"
    )
    assert copied == browser.base_url + "/api/ingest/slot-001"
    screenshot(browser, "dashboard")


def test_staff_edits_and_saves_a_slot(browser):
    log_in(browser)
    browser.find_element(By.LINK_TEXT, "Слот 2").click()
    name = wait(browser, ec.element_to_be_clickable((By.ID, "display_name")))
    name.clear()
    name.send_keys("Свадебный фон")
    Select(browser.find_element(By.ID, "provider")).select_by_value("gemini")
    prompt = wait(browser, ec.visibility_of_element_located((By.ID, "prompt")))

    browser.find_element(By.CSS_SELECTOR, "[data-save]").click()  # no prompt yet
    error = browser.find_element(By.CSS_SELECTOR, '[data-error-for="prompt"]').text
    assert error == "Заполните обязательное поле «Промпт»."
    assert Slot.objects.get(pk="slot-002").version == 1  # checked before anything was sent

    prompt.send_keys("Сохранить лицо и позу, заменить фон на летний сад")
    browser.find_element(By.CSS_SELECTOR, "[data-save]").click()
    confirm(browser)  # a live slot changes provider
    confirm(browser)  # and is not ready: Gemini has no key

    wait_for_toast(browser, "Сохранено")
    slot = Slot.objects.get(pk="slot-002")
    assert (slot.display_name, slot.provider, slot.operation) == (
        "Свадебный фон",
        "gemini",
        "image_edit",
    )
    assert slot.settings_json == {"prompt": "Сохранить лицо и позу, заменить фон на летний сад"}
    assert browser.find_element(By.CSS_SELECTOR, "[data-version]").text == "2"
    screenshot(browser, "slot-page")


def test_staff_adds_and_removes_a_template_image(browser, tmp_path):
    log_in(browser)
    browser.get(browser.base_url + "/slots/slot-001/")
    toggle = browser.find_element(By.ID, "toggle-templates")
    browser.execute_script("arguments[0].click()", toggle)
    browser.find_element(By.CSS_SELECTOR, "[data-template-input]").send_keys(
        image_file(tmp_path, "frame.png")
    )

    thumb = wait(
        browser, ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-thumbs] .thumb"))
    )
    assert SlotTemplateMedia.objects.filter(slot_id="slot-001").count() == 1
    thumb.find_element(By.CSS_SELECTOR, "button").click()
    confirm(browser)

    wait(browser, lambda driver: not driver.find_elements(By.CSS_SELECTOR, "[data-thumbs] .thumb"))
    assert not SlotTemplateMedia.objects.exists()
    assert browser.find_element(By.CSS_SELECTOR, "[data-version]").text == "3"


def test_staff_changes_the_sync_window(browser):
    log_in(browser)
    browser.find_element(By.PARTIAL_LINK_TEXT, "Настройки").click()
    slider = wait(browser, ec.element_to_be_clickable((By.ID, "sync_response_seconds")))
    for _ in range(18):
        slider.send_keys(Keys.ARROW_LEFT)
    assert browser.find_element(By.CSS_SELECTOR, "[data-slider-value]").text == "30"

    browser.find_element(By.CSS_SELECTOR, "[data-save]").click()

    wait_for_toast(browser, "Настройки сохранены")
    assert load_runtime_settings().sync_response_seconds == 30
    screenshot(browser, "settings")

    browser.find_element(By.CSS_SELECTOR, "[data-cleanup]").click()
    confirm(browser)
    wait_for_toast(browser, "Удалено файлов")


def test_staff_opens_stats(browser):
    now = timezone.now()
    outcomes = [("done", "")] * 10 + [("timeout", "timeout"), ("failed", "quota")]
    for minutes_ago, (status, reason) in zip(range(2, 60, 4), outcomes, strict=False):
        JobFactory(
            status=status, failure_reason=reason, started_at=now - timedelta(minutes=minutes_ago)
        )
    log_in(browser)
    browser.find_element(By.PARTIAL_LINK_TEXT, "Статистика").click()

    total = browser.find_element(By.CSS_SELECTOR, '.window-total [data-counter="jobs_last_window"]')
    wait(browser, lambda d: total.text == "12")
    share = browser.find_element(By.CSS_SELECTOR, '[data-counter="error_share_last_window"]')
    assert share.text == "16.7 %"  # a timeout and a failure among 12 jobs
    rows = browser.find_elements(By.CSS_SELECTOR, "[data-rows] tr")
    assert len(rows) == 15
    assert rows[0].find_elements(By.TAG_NAME, "td")[2].text == "1"  # one timeout on slot-001
    assert browser.find_elements(By.CSS_SELECTOR, "[data-chart] rect.bar-jobs")

    Select(browser.find_element(By.ID, "slot-filter")).select_by_value("slot-002")
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-rows] tr")) == 1)
    assert total.text == "0"
    Select(browser.find_element(By.ID, "slot-filter")).select_by_value("")
    wait(browser, lambda d: total.text == "12")
    Select(browser.find_element(By.ID, "source-filter")).select_by_value("ui_test")
    wait(browser, lambda d: total.text == "0")  # staff test runs are counted apart
    Select(browser.find_element(By.ID, "source-filter")).select_by_value("ingest")
    wait(browser, lambda d: total.text == "12")
    screenshot(browser, "stats")


def test_animations_stop_when_the_user_prefers_reduced_motion(browser):
    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]},
    )
    browser.get(browser.base_url + "/login/")

    duration = browser.execute_script(
        "return getComputedStyle(document.querySelector('.waves .w1')).animationDuration"
    )
    assert float(duration.rstrip("ms")) < 0.01


def test_staff_runs_a_test_photo_and_sees_the_result(browser, tmp_path):
    log_in(browser)
    browser.get(browser.base_url + "/slots/slot-001/")
    browser.execute_script("arguments[0].click()", browser.find_element(By.ID, "toggle-test"))
    browser.find_element(By.CSS_SELECTOR, "[data-test-input]").send_keys(image_file(tmp_path))
    wait(browser, ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-test-preview] img")))

    browser.find_element(By.CSS_SELECTOR, "[data-test-run]").click()

    result = wait(
        browser, ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-result-image]"))
    )
    wait(browser, lambda d: d.execute_script("return arguments[0].naturalWidth", result) > 0)
    assert "Время ответа" in browser.find_element(By.CSS_SELECTOR, "[data-result-latency]").text
    job = JobHistory.objects.get()
    assert (job.source, job.status) == ("ui_test", "done")
    link = browser.find_element(By.CSS_SELECTOR, "[data-result-link]").get_attribute("href")
    assert link.endswith(f"/public/results/{job.job_id}")
    browser.execute_script("window.scrollTo(0, 240)")
    screenshot(browser, "slot-test-run")


def test_the_staff_pages_break_no_rule_of_the_content_security_policy(browser):
    log_in(browser)
    for path in ("/", "/slots/slot-001/", "/settings/", "/stats/", "/admin/", "/api/docs/"):
        browser.get(browser.base_url + path)
        wait(browser, lambda d: d.execute_script("return document.readyState") == "complete")

    messages = [entry["message"] for entry in browser.get_log("browser")]
    assert not [m for m in messages if "Content Security Policy" in m], messages
