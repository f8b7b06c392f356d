import re
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError
from django.utils import timezone
from prometheus_client import REGISTRY

from core import metrics
from core.runtime import set_runtime_setting
from media.cleanup import cleanup_media
from media.models import MediaObject
from media.tests.factories import MediaObjectFactory

ALERTS = Path(settings.BASE_DIR) / "deploy/prometheus/alerts.yml"


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client) -> str:
    Path(settings.MEDIA_ROOT).mkdir(parents=True, exist_ok=True)  # the volume is mounted
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def test_observe_ingest_records_duration_and_status_code():
    before = sample("photochanger_ingest_responses_total", slot="slot-007", status_code="504")
    buckets = "photochanger_ingest_duration_seconds_bucket"
    in_48 = sample(buckets, slot="slot-007", provider="gemini", outcome="timeout", le="48.0")
    in_60 = sample(buckets, slot="slot-007", provider="gemini", outcome="timeout", le="60.0")

    metrics.observe_ingest(
        slot_id="slot-007", provider="gemini", outcome="timeout", status_code=504, seconds=48.2
    )

    assert (
        sample("photochanger_ingest_responses_total", slot="slot-007", status_code="504")
        == before + 1
    )
    assert (
        sample(buckets, slot="slot-007", provider="gemini", outcome="timeout", le="48.0") == in_48
    )
    assert (
        sample(buckets, slot="slot-007", provider="gemini", outcome="timeout", le="60.0")
        == in_60 + 1
    )


def test_arbitrary_slot_ids_and_providers_share_one_label_value():
    before = sample("photochanger_ingest_responses_total", slot="unknown", status_code="404")

    for slot_id in ("../../etc/passwd", "slot-9999", ""):
        metrics.observe_ingest(
            slot_id=slot_id, provider="", outcome="rejected", status_code=404, seconds=0.01
        )

    assert (
        sample("photochanger_ingest_responses_total", slot="unknown", status_code="404")
        == before + 3
    )
    assert (
        sample(
            "photochanger_ingest_duration_seconds_count",
            slot="unknown",
            provider="none",
            outcome="rejected",
        )
        >= 3
    )


def test_jobs_in_flight_rise_inside_the_block_and_fall_after_it():
    def in_flight():
        return sample("photochanger_ingest_jobs_in_flight", slot="slot-003")

    before = in_flight()
    with pytest.raises(TimeoutError), metrics.ingest_in_flight("slot-003"):
        assert in_flight() == before + 1
        raise TimeoutError

    assert in_flight() == before


def test_provider_failures_are_counted_by_reason_and_successes_only_timed():
    def failures():
        return sample(
            "photochanger_provider_failures_total", provider="turbotext", failure_reason="quota"
        )

    calls = sample("photochanger_provider_call_duration_seconds_count", provider="turbotext")
    before = failures()

    metrics.observe_provider_call(provider="turbotext", seconds=1.5)
    metrics.observe_provider_call(provider="turbotext", seconds=0.4, failure_reason="quota")

    assert failures() == before + 1
    assert (
        sample("photochanger_provider_call_duration_seconds_count", provider="turbotext")
        == calls + 2
    )


@pytest.mark.django_db
def test_cleanup_runs_count_deleted_files_by_kind_and_bytes():
    runs = sample("photochanger_cleanup_runs_total")
    previews = sample("photochanger_cleanup_deleted_files_total", kind="preview")
    freed = sample("photochanger_cleanup_deleted_bytes_total")
    MediaObjectFactory(kind=MediaObject.Kind.PREVIEW, expires_at=timezone.now(), size_bytes=123)

    cleanup_media()
    cleanup_media(dry_run=True)

    assert sample("photochanger_cleanup_runs_total") == runs + 1
    assert sample("photochanger_cleanup_deleted_files_total", kind="preview") == previews + 1
    assert sample("photochanger_cleanup_deleted_bytes_total") == freed + 123


@pytest.mark.django_db
def test_metrics_endpoint_reports_stored_media_by_kind_from_the_database(client):
    now = timezone.now()
    MediaObjectFactory(kind=MediaObject.Kind.RESULT, size_bytes=1000, expires_at=now)
    MediaObjectFactory(
        kind=MediaObject.Kind.RESULT, size_bytes=500, expires_at=now + timedelta(hours=1)
    )
    MediaObjectFactory(kind=MediaObject.Kind.TEMPLATE, size_bytes=70, expires_at=now)
    MediaObjectFactory(kind=MediaObject.Kind.PREVIEW, size_bytes=9, cleaned_at=now)

    body = scrape(client)

    assert 'photochanger_media_files{kind="result"} 2.0' in body
    assert 'photochanger_media_bytes{kind="result"} 1500.0' in body
    assert 'photochanger_media_bytes{kind="template"} 70.0' in body
    assert 'photochanger_media_files{kind="preview"} 0.0' in body
    assert "photochanger_media_expired_files 1.0" in body


@pytest.mark.django_db
def test_metrics_endpoint_shows_the_sync_window_staff_set(client):
    set_runtime_setting(key="sync_response_seconds", value=30)

    assert "photochanger_sync_response_seconds 30.0" in scrape(client)


@pytest.mark.django_db
def test_metrics_endpoint_includes_database_and_request_metrics_from_django_prometheus(client):
    client.get("/healthz/live")

    body = scrape(client)

    assert re.search(r'django_db_execute_total\{alias="default",vendor="\w+"\} [1-9]', body)
    assert "django_http_responses_total_by_status_total" in body
    assert "photochanger_media_volume_avail_bytes" in body


@pytest.mark.django_db
def test_a_bucket_has_no_volume_gauges_and_the_rest_is_still_reported(client, s3_storage):
    body = scrape(client)

    assert "photochanger_media_volume" not in body
    assert 'photochanger_media_files{kind="result"} 0.0' in body


@pytest.mark.django_db
def test_metrics_endpoint_still_answers_when_the_database_is_down(client, monkeypatch):
    def unavailable():
        raise DatabaseError("connection refused")

    monkeypatch.setattr("media.metrics._media_totals", unavailable)

    body = scrape(client)

    assert "photochanger_media_files{" not in body
    assert "photochanger_ingest_duration_seconds" in body


@pytest.mark.django_db
def test_every_metric_the_alert_rules_use_is_exported(client):
    metrics.observe_ingest(
        slot_id="slot-001", provider="local", outcome="done", status_code=200, seconds=1
    )
    exported = set(re.findall(r"^# TYPE (\w+)", scrape(client), re.MULTILINE))

    used = set(re.findall(r"\b(photochanger_\w+)", ALERTS.read_text()))
    used = {re.sub(r"_(bucket|count|sum)$", "", name) for name in used}

    assert used and used <= exported


def test_reset_metrics_empties_only_metric_files(tmp_path, monkeypatch):
    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "keep.txt").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    call_command("reset_metrics", stdout=StringIO())

    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_reset_metrics_creates_a_missing_directory(tmp_path, monkeypatch):
    target = tmp_path / "prometheus"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(target))

    call_command("reset_metrics", stdout=StringIO())

    assert target.is_dir()
