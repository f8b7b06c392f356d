"""Every admin page of every registered model reads as Russian: no English left over from Django
or the other apps, and the model names take the form the sentence needs («Выберите задачу»,
«8 задач»), not verbose_name pasted in («Выберите задача», «8 история задач»)."""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from auditlog.models import LogEntry
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from core.admin_names import Noun, RussianNamesAdmin
from core.runtime import set_runtime_setting
from ingest.models import JobHistory, WrongPasswordCount
from ingest.tests.factories import JobFactory, store_result
from media.models import MediaObject
from media.tests.factories import MediaObjectFactory
from slots.models import SlotTemplateMedia

pytestmark = pytest.mark.django_db

MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label)
# Words in ASCII letters the pages may show: names, codes and the test's own data.
ALLOWED = {
    "photochanger",
    "ingest",
    "api",
    "mime",
    "sha",
    "json",
    "uuid",
    "url",
    "hash",
    "http",
    "dslr",
    "gemini",
    "turbotext",
    "image",
    "jpeg",
    "png",
    "webp",
    "jpg",
    "results",
    "templates",
    "payload",
    "slot",
    "serg",
    "admin",
    "msk",
    "preview",
    "example",
    "com",
    # Key names in Django's hint for multiple choice, and HTTP's words in the lockout's records.
    "control",
    "command",
    "mac",
    "accept",
    "get",
    "post",
}
ENGLISH = re.compile(r"\b[A-Za-z]{3,}\b")
# Ids and digests in the data (paths, job ids, SHA-256) can hold a run of hex letters: «-adcd-».
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32,}")


class VisibleText(HTMLParser):
    """The text a reader sees: tag contents, alt texts and button values; no scripts, styles,
    or what is typed into fields (that is data)."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in ("script", "style", "textarea"):
            self.skipping += 1
        if attributes.get("alt"):
            self.parts.append(attributes["alt"])
        if tag == "input" and attributes.get("type") in ("submit", "button"):
            self.parts.append(attributes.get("value") or "")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "textarea"):
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def english_words(html: str) -> set[str]:
    text = UUID.sub(" ", visible_text(html))
    return {word for word in ENGLISH.findall(text) if word.lower() not in ALLOWED}


@pytest.fixture
def one_of_each(admin_user, tmp_path):
    """A row of every registered model, so each changelist has a count and a change page."""
    now = timezone.now()
    job = JobFactory(
        status=JobHistory.Status.DONE,
        finished_at=now,
        result_expires_at=now + timedelta(hours=1),
        duration_ms=8100,
    )
    store_result(job, Image.new("RGB", (64, 48), "teal"), preview_side=32, expires_at=now)
    JobFactory(status=JobHistory.Status.FAILED, failure_reason="quota")
    SlotTemplateMedia.objects.create(slot_id="slot-001", media=MediaObjectFactory(), role="style")
    set_runtime_setting(key="sync_response_seconds", value=30, user=admin_user)
    Group.objects.create(name="Операторы")
    AccessAttempt.objects.create(
        username="serg", ip_address="10.0.0.1", user_agent="DSLR", failures_since_start=3
    )
    AccessLog.objects.create(username="serg", ip_address="10.0.0.1", user_agent="DSLR")
    AccessFailureLog.objects.create(username="serg", ip_address="10.0.0.1", user_agent="DSLR")
    WrongPasswordCount.objects.create(slot_id="slot-001", minute=now, count=3)
    return job


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_registered_admin_names_its_model_in_russian_cases():
    assert MODELS
    unnamed = [
        model._meta.label
        for model in MODELS
        if not isinstance(admin.site._registry[model], RussianNamesAdmin)
    ]
    assert unnamed == []


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_changelist_reads_as_russian(admin_client, one_of_each, model):
    model_admin = admin.site._registry[model]
    count = model._default_manager.count()

    response = admin_client.get(admin_url(model, "changelist"))

    assert response.status_code == 200
    html = response.content.decode()
    assert count, "the fixture makes at least one row of every model"
    paginator = visible_text(html[html.index('<p class="paginator">') :])
    counted = model_admin.noun.counted(count, str(model._meta.verbose_name))
    assert paginator.startswith(f"{count} {counted}")
    assert response.context["title"] in (
        f"Выберите {model_admin.noun.accusative} для изменения",
        f"Выберите {model_admin.noun.accusative} для просмотра",
    )
    assert english_words(html) == set()


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_change_page_reads_as_russian(admin_client, one_of_each, model):
    model_admin = admin.site._registry[model]
    row = model._default_manager.order_by("pk").first()

    response = admin_client.get(admin_url(model, "change", row.pk))

    assert response.status_code == 200
    assert response.context["title"] in (
        f"Изменить {model_admin.noun.accusative}",
        f"Просмотреть {model_admin.noun.accusative}",
    )
    assert english_words(response.content.decode()) == set()


def test_job_history_is_a_list_of_tasks_with_counts_that_agree(admin_client):
    for _ in range(8):
        JobFactory()

    page = visible_text(admin_client.get(admin_url(JobHistory, "changelist")).content.decode())

    assert "Выберите задачу для просмотра" in page
    assert "8 задач" in page
    assert "история задач" not in page and "Выберите задача" not in page


@pytest.mark.parametrize(
    ("count", "form"),
    [
        (1, "задача"),
        (2, "задачи"),
        (4, "задачи"),
        (5, "задач"),
        (11, "задач"),
        (12, "задач"),
        (21, "задача"),
        (22, "задачи"),
        (111, "задач"),
        (0, "задач"),
    ],
)
def test_counts_take_the_russian_plural(count, form):
    assert Noun("задачу", "задачи", "задач").counted(count, "задача") == form


def test_codes_show_as_staff_read_them(admin_client, one_of_each):
    jobs = visible_text(admin_client.get(admin_url(JobHistory, "changelist")).content.decode())
    slots = visible_text(admin_client.get(admin_url(LogEntry, "changelist")).content.decode())

    assert "Исчерпана квота провайдера" in jobs and "quota" not in jobs
    assert "Локальный" in jobs or "Local" not in jobs
    assert "Журнал изменений" in slots


def test_job_history_shows_the_result_preview_and_its_file(admin_client, one_of_each):
    job = one_of_each
    preview = reverse("public-preview", args=[job.job_id])

    listing = admin_client.get(admin_url(JobHistory, "changelist")).content.decode()
    page = admin_client.get(admin_url(JobHistory, "change", job.pk)).content.decode()

    assert f'src="{preview}"' in listing and 'class="admin-thumb"' in listing
    assert f'src="{preview}"' in page
    assert f'href="{reverse("public-result", args=[job.job_id])}"' in page


def test_media_list_and_slot_templates_show_thumbnails_staff_can_open(admin_client, one_of_each):
    template = MediaObject.objects.get(kind=MediaObject.Kind.TEMPLATE)
    result = MediaObject.objects.get(kind=MediaObject.Kind.RESULT)
    file_url = admin_url(MediaObject, "file", template.pk)

    listing = admin_client.get(admin_url(MediaObject, "changelist")).content.decode()
    slot_page = admin_client.get(
        admin_url(SlotTemplateMedia.slot.field.related_model, "change", "slot-001")
    )
    picture = admin_client.get(file_url)
    result_picture = admin_client.get(admin_url(MediaObject, "file", result.pk))

    assert f'src="{file_url}"' in listing
    assert f'src="{file_url}"' in slot_page.content.decode()
    assert picture.status_code == 200 and picture["Content-Type"] == "image/png"
    assert result_picture["Content-Type"] == "image/webp"  # a result shows as its own preview


def test_media_files_open_only_for_staff(client, one_of_each):
    template = MediaObject.objects.get(kind=MediaObject.Kind.TEMPLATE)

    response = client.get(admin_url(MediaObject, "file", template.pk))

    assert response.status_code == 302 and "/admin/login/" in response["Location"]
