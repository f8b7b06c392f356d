"""Every control on every page has a name a screen reader can announce (WCAG 4.1.2)."""

from collections import Counter
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from ingest.models import JobHistory
from ingest.tests.factories import JobFactory
from slots.models import Slot

pytestmark = pytest.mark.django_db

STAFF_PAGES = ["/", "/slots/slot-001/", "/settings/", "/stats/"]
PUBLIC_PAGES = ["/login/", "/public/slots/slot-001", "/no-such-page/"]
FIELDS = {"input", "select", "textarea"}
NAMED_BY_CONTENT = {"button", "a"}


class Controls(HTMLParser):
    """Collects form fields, buttons and links with what could name them."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict] = []
        self.label_targets: set[str] = set()
        self.ids: list[str] = []
        self._labels = 0
        self._open: list[dict] = []  # buttons and links still collecting their text

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "label":
            self._labels += 1
            self.label_targets.add(attrs.get("for", ""))
        elif tag in FIELDS and attrs.get("type") != "hidden":
            self.controls.append({"tag": tag, "attrs": attrs, "in_label": self._labels > 0})
        elif tag == "img" and self._open:
            self._open[-1]["text"] += attrs.get("alt") or ""
        elif tag in NAMED_BY_CONTENT and (tag == "button" or "href" in attrs):
            control = {"tag": tag, "attrs": attrs, "text": ""}
            self.controls.append(control)
            self._open.append(control)

    def handle_endtag(self, tag):
        if tag == "label":
            self._labels -= 1
        elif tag in NAMED_BY_CONTENT and self._open and self._open[-1]["tag"] == tag:
            self._open.pop()

    def handle_data(self, data):
        for control in self._open:
            control["text"] += data


def nameless(html: str) -> list[str]:
    page = Controls()
    page.feed(html)
    return [
        f"<{control['tag']} {control['attrs']}>"
        for control in page.controls
        if not _has_name(control, page.label_targets)
    ]


def _has_name(control: dict, label_targets: set[str]) -> bool:
    attrs = control["attrs"]
    if attrs.get("aria-label", "").strip() or attrs.get("aria-labelledby"):
        return True
    if control["tag"] in FIELDS:
        return control["in_label"] or attrs.get("id") in label_targets
    return bool(control["text"].strip())


def page_ids(html: str) -> list[str]:
    page = Controls()
    page.feed(html)
    return page.ids


def test_nameless_controls_are_found():
    assert nameless('<input id="a"><button><svg></svg></button><a href="/"> </a>') == [
        "<input {'id': 'a'}>",
        "<button {}>",
        "<a {'href': '/'}>",
    ]
    assert nameless('<label for="a">A</label><input id="a"><a href="/"><img alt="B"></a>') == []


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_every_control_on_staff_pages_has_a_name(staff_client, url):
    html = staff_client.get(url).text

    assert nameless(html) == []
    assert [name for name, count in Counter(page_ids(html)).items() if count > 1] == []


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_every_control_on_public_pages_has_a_name(client, url):
    JobFactory(  # a gallery entry: a preview link and a download button
        status=JobHistory.Status.DONE,
        finished_at=timezone.now(),
        result_expires_at=timezone.now() + timedelta(hours=1),
    )
    if url.startswith("/public/slots/"):  # a gallery opens only with its slot's key
        url += "?k=" + Slot.objects.get(pk="slot-001").gallery_token
    html = client.get(url).text

    assert nameless(html) == []
    assert [name for name, count in Counter(page_ids(html)).items() if count > 1] == []
