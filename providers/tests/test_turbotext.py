import asyncio

import jsonschema
import pytest

from providers.base import ProviderError
from providers.registry import get_driver
from providers.tests.factories import ImageInputFactory, ProviderJobFactory, TemplateImageFactory
from providers.tests.fakes import (
    FakeTurbotext,
    TurbotextScenario,
    html_answer,
    jpeg_bytes,
    json_answer,
    png_bytes,
)
from providers.turbotext import TurbotextDriver

driver = TurbotextDriver()


@pytest.fixture
def job_for(media_host):
    """A Turbotext job whose photo and templates are published on the fake media host."""

    def job_for(operation, *, settings=None, template_roles=("style",), **overrides):
        photo, template = jpeg_bytes(), png_bytes((320, 240))
        return ProviderJobFactory(
            operation=operation,
            settings=settings or {},
            photo=ImageInputFactory(data=photo, url=media_host.publish(photo, "image/jpeg")),
            templates=tuple(
                TemplateImageFactory(
                    role=role, data=template, url=media_host.publish(template, "image/png")
                )
                for role in template_roles
            ),
            **{"api_key": FakeTurbotext.api_key, **overrides},
        )

    return job_for


def failure_of(run, job) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        run(driver.process(job))
    return caught.value


def test_turbotext_is_registered_and_asks_for_public_urls():
    registered = get_driver("turbotext")
    assert registered.needs_public_urls is True
    assert set(registered.operations) == {"style_transfer", "image_edit", "identity_transfer"}
    jsonschema.validate({"content": "в стиле Диснея", "strength": 40}, registered.settings_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"strength": 95}, registered.settings_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"mask_url": "http://x"}, registered.settings_schema)


def test_turbotext_mix_images_restyles_the_photo_after_the_style_template(
    run, fake_turbotext, job_for
):
    job = job_for(
        "style_transfer", settings={"content": "в стиле Диснея"}, template_roles=("face", "style")
    )

    result = run(driver.process(job))

    assert (result.data, result.mime) == (fake_turbotext.result_image, "image/png")
    (create,) = fake_turbotext.api_requests("create_queue")
    assert create.path == "/api_ai/mix_images"
    assert create.headers["authorization"] == f"Bearer {FakeTurbotext.api_key}"
    assert create.headers["content-type"] == "application/x-www-form-urlencoded"
    assert create.form() == {
        "do": "create_queue",
        "content": "в стиле Диснея",
        "url_image_target": job.photo.url,
        "url": job.templates[1].url,
    }
    assert fake_turbotext.fetches == [(job.templates[1].url, 200), (job.photo.url, 200)]


def test_turbotext_polls_through_reconnect_answers_that_also_say_success_false(
    run, fake_turbotext, job_for
):
    fake_turbotext.scenario = TurbotextScenario(pending_polls=3, pending_says_failure=True)

    result = run(driver.process(job_for("style_transfer")))

    assert result.data == fake_turbotext.result_image
    polls = fake_turbotext.api_requests("get_result")
    assert len(polls) == 4
    assert {p.form()["queueid"] for p in polls} == {"1001"}


def test_turbotext_image_to_image_downloads_the_relative_data_image_path(
    run, fake_turbotext, job_for
):
    fake_turbotext.scenario = TurbotextScenario(result_in="data_image")
    job = job_for(
        "image_edit",
        settings={"content": "замени фон на пляж", "strength": 40, "seed": 7, "scale": 7.5},
        template_roles=(),
    )

    run(driver.process(job))

    assert fake_turbotext.api_requests("create_queue")[0].form() == {
        "do": "create_queue",
        "content": "замени фон на пляж",
        "strength": "40",
        "seed": "7",
        "scale": "7.5",
        "url": job.photo.url,
    }
    assert fake_turbotext.received[-1].path == "/image/generate_image2image_id1001_0.png"


def test_turbotext_face_swap_puts_the_guest_face_into_the_template_scene(
    run, fake_turbotext, job_for
):
    job = job_for(
        "identity_transfer", settings={"face_restore": True}, template_roles=("reference",)
    )

    run(driver.process(job))

    assert fake_turbotext.api_requests("create_queue")[0].form() == {
        "do": "create_queue",
        "face_restore": "True",
        "url": job.templates[0].url,
        "url_image_target": job.photo.url,
    }


def test_turbotext_gets_410_for_expired_media_and_fails_cleanly(
    run, fake_turbotext, job_for, media_host
):
    job = job_for("style_transfer")
    media_host.expired = True

    failure = failure_of(run, job)

    assert failure.code == "bad_response"
    assert {status for _, status in fake_turbotext.fetches} == {410}


@pytest.mark.parametrize(
    ("scenario", "code"),
    [
        (
            TurbotextScenario(done=json_answer({"success": False, "error": "face_not_found"})),
            "bad_response",
        ),
        (
            TurbotextScenario(create=json_answer({"success": False, "error": "params_error"})),
            "bad_response",
        ),
        (TurbotextScenario(create=html_answer(502)), "provider_5xx"),
        (TurbotextScenario(done=html_answer(500)), "provider_5xx"),
        (
            TurbotextScenario(create=json_answer({"error": "Too many requests"}, status=429)),
            "quota",
        ),
        (TurbotextScenario(done=json_answer({"success": True, "data": {}})), "bad_response"),
        (TurbotextScenario(done=json_answer(["unexpected"])), "bad_response"),
        (
            TurbotextScenario(
                done=json_answer({"success": True, "data": {"forbidden_content": True}})
            ),
            "safety_blocked",
        ),
        (TurbotextScenario(download=html_answer(404)), "bad_response"),
        (TurbotextScenario(download=html_answer(503)), "provider_5xx"),
        (TurbotextScenario(download=html_answer(200)), "bad_response"),
    ],
    ids=[
        "done-success-false",
        "create-success-false",
        "create-html-502",
        "poll-html-500",
        "create-429",
        "done-without-link",
        "done-not-an-object",
        "forbidden-content",
        "download-404",
        "download-503",
        "download-not-an-image",
    ],
)
def test_turbotext_failures_map_to_their_codes(run, fake_turbotext, job_for, scenario, code):
    fake_turbotext.scenario = scenario

    failure = failure_of(run, job_for("style_transfer"))

    assert failure.code == code


def test_turbotext_refusal_detail_carries_the_provider_error(run, fake_turbotext, job_for):
    fake_turbotext.scenario = TurbotextScenario(
        done=json_answer({"success": False, "error": "face_not_found"})
    )

    assert "face_not_found" in failure_of(run, job_for("style_transfer")).detail


def test_turbotext_bad_key_is_provider_unconfigured(run, fake_turbotext, job_for):
    assert (
        failure_of(run, job_for("style_transfer", api_key="revoked")).code
        == "provider_unconfigured"
    )


@pytest.mark.parametrize(
    "job_kwargs",
    [
        {"operation": "style_transfer", "api_key": ""},
        {"operation": "style_transfer", "template_roles": ()},
        {"operation": "identity_transfer", "template_roles": ()},
        {"operation": "image_edit", "settings": {"strength": 40}},
        {"operation": "remove_everything"},
    ],
    ids=["no-key", "mix-without-template", "swap-without-template", "no-prompt", "unknown"],
)
def test_turbotext_misconfigured_jobs_fail_before_any_call(
    run, fake_turbotext, job_for, job_kwargs
):
    operation = job_kwargs.pop("operation")

    failure = failure_of(run, job_for(operation, **job_kwargs))

    assert failure.code == "provider_unconfigured"
    assert fake_turbotext.received == []


def test_turbotext_photo_without_a_public_link_is_provider_unconfigured(run, fake_turbotext):
    job = ProviderJobFactory(
        operation="image_edit",
        settings={"content": "x"},
        api_key=FakeTurbotext.api_key,
    )

    assert failure_of(run, job).code == "provider_unconfigured"


def test_turbotext_polling_stops_when_the_window_ends(run, fake_turbotext, job_for):
    fake_turbotext.scenario = TurbotextScenario(pending_polls=10**6)

    # Long enough for a few 10 ms polls even on a busy machine.
    with pytest.raises(TimeoutError):
        run(asyncio.wait_for(driver.process(job_for("style_transfer")), timeout=2))

    assert len(fake_turbotext.api_requests("get_result")) > 1


def test_turbotext_result_is_validated_as_an_image(run, job_for, settings):
    with FakeTurbotext(result_image=png_bytes((8, 8))) as fake:
        settings.TURBOTEXT_BASE_URL = fake.url
        settings.TURBOTEXT_POLL_SECONDS = 0

        assert failure_of(run, job_for("style_transfer")).code == "bad_response"


def test_turbotext_ping_reaches_the_host(run, fake_turbotext):
    assert run(driver.ping(api_key=FakeTurbotext.api_key)) is True
    assert run(driver.ping(api_key="")) is False


def test_turbotext_ping_fails_when_the_host_is_down(run, settings):
    with FakeTurbotext() as stopped:
        settings.TURBOTEXT_BASE_URL = stopped.url
    assert run(driver.ping(api_key=FakeTurbotext.api_key)) is False
