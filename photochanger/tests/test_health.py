import asyncio
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from core.runtime import set_runtime_setting
from ingest.models import ProviderState
from media.tests.s3 import free_port
from photochanger import health
from photochanger.checks import check_matting_model
from providers.base import Operation, ProviderDriver
from providers.registry import get_driver


class FakeDriver(ProviderDriver):
    name = "fake"
    operations = {"noop": Operation("noop")}
    settings_schema = {}
    requires_api_key = True

    def __init__(self, answer=True):
        self.answer = answer
        self.pings: list[str] = []

    async def process(self, job):
        raise NotImplementedError

    async def ping(self, *, api_key: str) -> bool:
        self.pings.append(api_key)
        if isinstance(self.answer, BaseException):
            raise self.answer
        if self.answer == "hang":
            await asyncio.Event().wait()
        return self.answer


@pytest.fixture(autouse=True)
def _own_ping_cache(settings, tmp_path):
    settings.CACHES = {
        **settings.CACHES,
        "health": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "health-cache"),
        },
    }


@pytest.fixture
def providers(monkeypatch):
    """Replace the registry with two fakes: `gemini` (needs a key) and `local` (does not)."""
    drivers = {"gemini": FakeDriver(), "local": FakeDriver()}
    drivers["local"].requires_api_key = False
    monkeypatch.setattr(health, "DRIVERS", drivers)
    monkeypatch.setattr(health, "get_driver", drivers.__getitem__)
    return drivers


def healthz(client):
    response = client.get("/healthz")
    return response.status_code, response.json()


@pytest.mark.django_db
def test_healthy_service_answers_200_with_every_check(storage, client, providers):
    set_runtime_setting(key="gemini_api_key", value="AIza-test-key")

    status, body = healthz(client)

    assert status == 200
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["media_storage"] == {"status": "ok"}
    assert body["checks"]["providers"]["gemini"]["status"] == "ok"
    assert providers["gemini"].pings == ["AIza-test-key"]


@pytest.mark.django_db
def test_provider_without_a_key_is_not_configured_and_not_pinged(client, providers):
    status, body = healthz(client)

    assert status == 200
    assert body["checks"]["providers"]["gemini"] == {"status": "not_configured"}
    assert providers["gemini"].pings == []
    assert body["checks"]["providers"]["local"]["status"] == "ok"


@pytest.mark.django_db
def test_each_provider_is_pinged_at_most_once_a_minute(client, providers):
    for _ in range(3):
        _, body = healthz(client)

    assert len(providers["local"].pings) == 1
    assert body["checks"]["providers"]["local"]["status"] == "ok"


@pytest.mark.django_db
def test_pinging_again_after_the_interval(client, providers, monkeypatch):
    monkeypatch.setattr(health, "PING_INTERVAL_SECONDS", 0)  # every lock is already expired

    healthz(client)
    healthz(client)

    assert len(providers["local"].pings) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("answer", [False, RuntimeError("boom"), "hang"])
def test_unreachable_provider_degrades_but_keeps_200(client, providers, monkeypatch, answer):
    monkeypatch.setattr(health, "CHECK_TIMEOUT_SECONDS", 0.05)
    providers["local"].answer = answer

    status, body = healthz(client)

    assert status == 200
    assert body["status"] == "degraded"
    assert body["checks"]["providers"]["local"]["status"] == "fail"


@pytest.mark.django_db
def test_database_failure_answers_503_and_skips_provider_pings(client, providers, monkeypatch):
    def refuse():
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(health, "_probe_database", refuse)

    status, body = healthz(client)

    assert status == 503
    assert body["status"] == "fail"
    assert body["checks"]["database"] == {"status": "fail", "detail": "OperationalError"}
    assert body["checks"]["providers"]["local"] == {"status": "skipped"}
    assert providers["local"].pings == []


@pytest.mark.django_db
def test_unwritable_media_storage_answers_503(client, providers, settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.MEDIA_ROOT = blocker

    status, body = healthz(client)

    assert status == 503
    assert body["checks"]["media_storage"]["status"] == "fail"


@pytest.mark.django_db
def test_storage_probe_leaves_no_files_behind(storage, client, providers):
    assert healthz(client)[1]["checks"]["media_storage"] == {"status": "ok"}

    assert storage.names() == []


@pytest.mark.django_db
def test_unreachable_bucket_answers_503(client, providers, settings, s3_storage):
    options = {**s3_storage.setting["OPTIONS"], "endpoint_url": f"http://127.0.0.1:{free_port()}"}
    settings.STORAGES = {**settings.STORAGES, "default": {**s3_storage.setting, "OPTIONS": options}}

    status, body = healthz(client)

    assert status == 503
    assert body["checks"]["media_storage"] == {"status": "fail", "detail": "StorageUnavailable"}


def test_liveness_touches_neither_database_nor_providers(client, providers):
    # No django_db mark: any query would fail the test.
    response = client.get("/healthz/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert providers["local"].pings == []


@pytest.mark.django_db
def test_health_endpoints_are_not_cached(client, providers):
    assert "no-cache" in client.get("/healthz")["Cache-Control"]
    assert "no-cache" in client.get("/healthz/live")["Cache-Control"]


@pytest.mark.django_db
def test_a_provider_in_a_cooldown_makes_the_service_degraded(client, providers):
    until = timezone.now() + timedelta(seconds=40)
    ProviderState.objects.create(provider="local", cooldown_until=until)

    status, body = healthz(client)

    assert status == 200
    assert body["status"] == "degraded"
    assert body["checks"]["providers"]["local"]["cooldown_until"] == until.isoformat()


@pytest.mark.django_db
def test_a_tampered_matting_model_is_a_warning_at_start_and_a_failing_local_provider(
    settings, tmp_path
):
    fake = tmp_path / "modnet.onnx"
    fake.write_bytes(b"not the pinned model")
    settings.LOCAL_MATTING_MODEL_PATH = str(fake)

    warnings = check_matting_model(None)

    assert [w.id for w in warnings] == ["photochanger.W002"]
    assert "SHA-256" in warnings[0].msg or "hash" in warnings[0].msg.lower()
    assert asyncio.run(get_driver("local").ping(api_key="")) is False
