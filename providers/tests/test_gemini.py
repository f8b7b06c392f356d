import asyncio
import base64
import io
import time

import jsonschema
import pytest
import structlog.testing
from PIL import Image

from providers import gemini
from providers.base import Handover, ProviderError
from providers.gemini import GeminiDriver
from providers.registry import get_driver
from providers.tests.factories import ImageInputFactory, ProviderJobFactory, TemplateImageFactory
from providers.tests.fakes import (
    HANG,
    HANG_AFTER_HEADERS,
    MALFORMED_JSON,
    RESET,
    FakeGemini,
    gemini_blocked_prompt_answer,
    gemini_error_answer,
    gemini_image_answer,
    gemini_no_image_answer,
    gemini_quota_answer,
    html_answer,
    jpeg_bytes,
    png_bytes,
)

driver = GeminiDriver()


def failure_of(run, job) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        run(driver.process(job))
    return caught.value


def sent_images(request) -> list[Image.Image]:
    parts = request.json()["contents"][0]["parts"]
    return [
        Image.open(io.BytesIO(base64.b64decode(part["inline_data"]["data"])))
        for part in parts
        if "inline_data" in part
    ]


def test_gemini_is_registered_with_a_settings_schema_that_requires_a_prompt():
    schema = get_driver("gemini").settings_schema
    jsonschema.validate({"prompt": "Studio portrait", "max_side": 1024}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"max_side": 1024}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"prompt": "x", "model": "../../v1/files"}, schema)


def test_gemini_settings_take_known_and_newer_models_image_sizes_and_safety_levels():
    schema = get_driver("gemini").settings_schema
    for model in ("gemini-2.5-flash-image", "gemini-3-pro-image-preview", "gemini-4-image"):
        jsonschema.validate({"prompt": "x", "model": model}, schema)
    jsonschema.validate({"prompt": "x", "image_size": "2K", "safety": "strict"}, schema)
    for wrong in ({"image_size": "8K"}, {"image_size": "2k"}, {"safety": "off"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"prompt": "x", **wrong}, schema)


def test_gemini_returns_the_image_part_that_follows_a_text_part(run, fake_gemini):
    image = png_bytes((1024, 768))
    fake_gemini.answers.append(gemini_image_answer(image, text_first=True))

    result = run(driver.process(ProviderJobFactory()))

    assert (result.data, result.mime) == (image, "image/png")


def test_gemini_accepts_snake_case_inline_data(run, fake_gemini):
    image = jpeg_bytes((1024, 1024))
    fake_gemini.answers.append(gemini_image_answer(image, spelling="snake", mime="image/jpeg"))

    result = run(driver.process(ProviderJobFactory()))

    assert (result.data, result.mime) == (image, "image/jpeg")


def test_gemini_takes_the_mime_type_from_the_bytes_not_from_the_answer(run, fake_gemini):
    fake_gemini.answers.append(gemini_image_answer(jpeg_bytes((512, 512)), mime="image/png"))

    assert run(driver.process(ProviderJobFactory())).mime == "image/jpeg"


def test_gemini_sends_photo_then_templates_then_prompt_with_the_key_header(run, fake_gemini):
    job = ProviderJobFactory(
        settings={"prompt": "Use the second image as the background"},
        templates=(TemplateImageFactory(role="background"),),
    )

    run(driver.process(job))

    (request,) = fake_gemini.generate_requests
    assert request.path == "/v1beta/models/gemini-2.5-flash-image:generateContent"
    assert request.headers["x-goog-api-key"] == FakeGemini.api_key
    body = request.json()
    parts = body["contents"][0]["parts"]
    assert [part["inline_data"]["mime_type"] for part in parts[:2]] == ["image/jpeg", "image/png"]
    assert base64.b64decode(parts[0]["inline_data"]["data"]) == job.photo.data
    assert parts[2] == {"text": "Use the second image as the background"}
    assert body["generationConfig"] == {"responseModalities": ["IMAGE"]}


def test_gemini_uses_the_slot_model_over_the_global_one(run, fake_gemini):
    run(driver.process(ProviderJobFactory(settings={"prompt": "x", "model": "gemini-3-image"})))

    assert fake_gemini.generate_requests[0].path == "/v1beta/models/gemini-3-image:generateContent"


def test_gemini_downscales_a_large_photo_to_the_slot_max_side(run, fake_gemini):
    photo = ImageInputFactory(data=jpeg_bytes((3000, 2000)))
    job = ProviderJobFactory(photo=photo, settings={"prompt": "x", "max_side": 1024})

    run(driver.process(job))

    (sent,) = sent_images(fake_gemini.generate_requests[0])
    assert (sent.format, sent.size) == ("JPEG", (1024, 683))


def test_gemini_sends_the_uploads_own_decode_instead_of_decoding_the_photo_again(run, fake_gemini):
    data = jpeg_bytes((3000, 2000), color=(200, 120, 40))
    # Told apart from a decode of `data` by its colour, so the test sees which one was sent.
    decoded = Image.new("RGB", (1500, 1000), (10, 200, 10))
    photo = ImageInputFactory(data=data, decoded=Handover(decoded))
    job = ProviderJobFactory(photo=photo, settings={"prompt": "x", "max_side": 1024})

    run(driver.process(job))

    (sent,) = sent_images(fake_gemini.generate_requests[0])
    assert sent.size == (1024, 683)
    red, green, _ = sent.getpixel((512, 341))
    assert green > 150 and red < 60
    assert photo.decoded.take() is None  # handed over: the waiting job no longer holds it


def test_a_decode_smaller_than_the_copy_gemini_sends_is_not_used(run, fake_gemini):
    photo = ImageInputFactory(
        data=jpeg_bytes((3000, 2000), color=(200, 120, 40)),
        decoded=Handover(Image.new("RGB", (750, 500), (10, 200, 10))),
    )
    job = ProviderJobFactory(photo=photo, settings={"prompt": "x", "max_side": 1024})

    run(driver.process(job))

    (sent,) = sent_images(fake_gemini.generate_requests[0])
    red, green, _ = sent.getpixel((512, 341))
    assert red > 150 and green < 150


def test_gemini_downscales_transparent_templates_to_png(run, fake_gemini, settings):
    settings.GEMINI_MAX_SIDE = 512
    overlay = io.BytesIO()
    Image.new("RGBA", (2000, 1000), (0, 0, 0, 0)).save(overlay, "PNG")
    job = ProviderJobFactory(templates=(TemplateImageFactory(data=overlay.getvalue()),))

    run(driver.process(job))

    photo, template = sent_images(fake_gemini.generate_requests[0])
    assert photo.size == (512, 384)
    assert (template.format, template.mode, template.size) == ("PNG", "RGBA", (512, 256))


def test_gemini_refuses_a_job_without_a_key_before_any_call(run, fake_gemini):
    failure = failure_of(run, ProviderJobFactory(api_key=""))

    assert failure.code == "provider_unconfigured"
    assert fake_gemini.received == []


def test_gemini_invalid_key_answered_with_400_is_provider_unconfigured(run, fake_gemini):
    failure = failure_of(run, ProviderJobFactory(api_key="expired-key"))

    assert failure.code == "provider_unconfigured"
    assert "API key not valid" in failure.detail


def test_gemini_403_is_provider_unconfigured(run, fake_gemini):
    fake_gemini.answers.append(
        gemini_error_answer(403, "PERMISSION_DENIED", "Your API key was reported as leaked.")
    )

    assert failure_of(run, ProviderJobFactory()).code == "provider_unconfigured"


@pytest.mark.parametrize(("delay", "seconds"), [("26s", 26), ("0.4s", 1), ("12.5s", 13)])
def test_gemini_quota_passes_on_the_retry_info_delay(run, fake_gemini, delay, seconds):
    fake_gemini.answers.append(gemini_quota_answer(delay))

    failure = failure_of(run, ProviderJobFactory())

    assert (failure.code, failure.retry_after) == ("quota", seconds)


@pytest.mark.parametrize(
    "answer",
    [
        gemini_error_answer(400, "INVALID_ARGUMENT", "Unsupported MIME type: image/gif"),
        MALFORMED_JSON,
        gemini_image_answer(b"%PDF-1.7 certainly not an image"),
        gemini_image_answer(png_bytes((16, 16))),
        gemini_no_image_answer("STOP", text="I can't edit photos of real people."),
        gemini_no_image_answer("OTHER"),
    ],
    ids=["400", "malformed-json", "not-an-image", "tiny-image", "text-only", "other"],
)
def test_gemini_answers_without_a_usable_image_are_bad_response(run, fake_gemini, answer):
    fake_gemini.answers.append(answer)

    assert failure_of(run, ProviderJobFactory()).code == "bad_response"
    assert len(fake_gemini.generate_requests) == 1


def test_gemini_image_data_that_is_not_base64_is_bad_response(run, fake_gemini):
    answer = gemini_image_answer(b"")
    body = answer.body.replace(b'"data": ""', b'"data": "***not base64***"')
    fake_gemini.answers.append(type(answer)(body=body))

    assert failure_of(run, ProviderJobFactory()).code == "bad_response"


@pytest.mark.parametrize(
    "reason",
    ["SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT", "IMAGE_PROHIBITED_CONTENT", "RECITATION"],
)
def test_gemini_refusals_are_safety_blocked(run, fake_gemini, reason):
    fake_gemini.answers.append(gemini_no_image_answer(reason))

    failure = failure_of(run, ProviderJobFactory())

    assert failure.code == "safety_blocked"
    assert reason in failure.detail


def test_gemini_blocked_prompt_without_candidates_is_safety_blocked(run, fake_gemini):
    fake_gemini.answers.append(gemini_blocked_prompt_answer("PROHIBITED_CONTENT"))

    assert failure_of(run, ProviderJobFactory()).code == "safety_blocked"


@pytest.mark.parametrize(
    "transient",
    [
        gemini_no_image_answer("NO_IMAGE"),
        gemini_no_image_answer("IMAGE_OTHER"),
        gemini_error_answer(503, "UNAVAILABLE", "The model is overloaded."),
    ],
    ids=["no-image", "image-other", "503"],
)
def test_gemini_retries_a_transient_failure_once_when_the_window_allows(
    run, fake_gemini, settings, transient
):
    settings.GEMINI_RETRY_MIN_SECONDS = 5
    image = png_bytes()
    fake_gemini.answers.extend([transient, gemini_image_answer(image)])

    result = run(driver.process(ProviderJobFactory(deadline=time.monotonic() + 30)))

    assert result.data == image
    assert len(fake_gemini.generate_requests) == 2


def test_gemini_retries_only_once(run, fake_gemini, settings):
    settings.GEMINI_RETRY_MIN_SECONDS = 0
    fake_gemini.answers.extend([gemini_no_image_answer("NO_IMAGE")] * 3)

    assert failure_of(run, ProviderJobFactory()).code == "bad_response"
    assert len(fake_gemini.generate_requests) == 2


def test_gemini_does_not_retry_when_the_window_cannot_fit_another_attempt(
    run, fake_gemini, settings
):
    settings.GEMINI_RETRY_MIN_SECONDS = 20
    fake_gemini.answers.append(gemini_error_answer(503, "UNAVAILABLE", "Overloaded"))

    failure = failure_of(run, ProviderJobFactory(deadline=time.monotonic() + 10))

    assert failure.code == "provider_5xx"
    assert len(fake_gemini.generate_requests) == 1


@pytest.mark.parametrize("status", [500, 502, 504])
def test_gemini_html_5xx_pages_are_provider_5xx(run, fake_gemini, status):
    fake_gemini.answers.append(html_answer(status))

    assert failure_of(run, ProviderJobFactory()).code == "provider_5xx"
    assert len(fake_gemini.generate_requests) == 1


def test_gemini_connection_reset_is_network(run, fake_gemini):
    fake_gemini.answers.append(RESET)

    assert failure_of(run, ProviderJobFactory()).code == "network"


def test_gemini_hanging_after_headers_is_network_once_the_read_timeout_passes(
    run, fake_gemini, settings
):
    settings.PROVIDER_HTTP_READ_TIMEOUT_SECONDS = 0.2
    fake_gemini.answers.append(HANG_AFTER_HEADERS)

    assert failure_of(run, ProviderJobFactory()).code == "network"


@pytest.mark.parametrize("answer", [HANG, HANG_AFTER_HEADERS], ids=["before", "after-headers"])
def test_gemini_call_is_cancelled_at_the_window_and_the_next_call_succeeds(
    run, fake_gemini, answer
):
    fake_gemini.answers.append(answer)

    async def late_then_next():
        late = asyncio.ensure_future(driver.process(ProviderJobFactory()))
        # Cancelled (as the window's end cancels it) once the fake holds it, not after a fixed
        # time: on a loaded machine the request may take longer than that to arrive.
        deadline = time.monotonic() + 10
        while not fake_gemini.generate_requests:
            assert time.monotonic() < deadline, "the first call never reached the fake"
            await asyncio.sleep(0.01)
        late.cancel()
        with pytest.raises(asyncio.CancelledError):
            await late
        return await driver.process(ProviderJobFactory())

    assert run(late_then_next()).mime == "image/png"
    assert len(fake_gemini.generate_requests) == 2


def test_gemini_ping_gets_the_model_resource_with_the_key(run, fake_gemini):
    assert run(driver.ping(api_key=FakeGemini.api_key)) is True
    assert fake_gemini.received[-1].path == "/v1beta/models/gemini-2.5-flash-image"
    assert fake_gemini.received[-1].headers["x-goog-api-key"] == FakeGemini.api_key


def test_gemini_ping_fails_for_a_bad_or_missing_key(run, fake_gemini):
    assert run(driver.ping(api_key="wrong")) is False
    assert run(driver.ping(api_key="")) is False


def test_gemini_ping_fails_when_the_service_is_unreachable(run, settings):
    with FakeGemini() as stopped:
        settings.GEMINI_BASE_URL = stopped.url
    assert run(driver.ping(api_key=FakeGemini.api_key)) is False


def test_gemini_logs_carry_neither_the_key_nor_image_bytes(run, fake_gemini, caplog):
    job = ProviderJobFactory()
    fake_gemini.answers.extend(
        [
            gemini_error_answer(400, "INVALID_ARGUMENT", "Request contains an invalid argument."),
            gemini_no_image_answer("IMAGE_SAFETY"),
        ]
    )

    with structlog.testing.capture_logs() as events:
        for _ in range(2):
            failure_of(run, job)

    logged = repr(events) + caplog.text
    assert [e["event"] for e in events] == ["gemini.error", "gemini.no_image"]
    assert FakeGemini.api_key not in logged
    assert base64.b64encode(job.photo.data)[:32].decode() not in logged


# --- the answer's shape, safety and the model ---------------------------------------------------


def gemini_job(model: str, aspect_ratio: str = "", **slot_settings):
    return ProviderJobFactory(
        settings={"prompt": "x", "model": model, **slot_settings}, aspect_ratio=aspect_ratio
    )


@pytest.mark.parametrize(
    ("model", "wanted", "asked"),
    [
        ("gemini-2.5-flash-image", "3:2", "3:2"),
        ("gemini-2.5-flash-image", "2:3", "2:3"),
        ("gemini-2.5-flash-image", "6000:4000", "3:2"),  # "as shot": the booth photo's size
        ("gemini-2.5-flash-image", "5:7", "3:4"),  # 5x7" paper has no Gemini ratio
        ("gemini-2.5-flash-image", "7:5", "4:3"),
        ("gemini-2.5-flash-image", "5:1", "21:9"),
        ("gemini-3.1-flash-image-preview", "5:1", "4:1"),  # its wider list has a nearer one
        ("gemini-3-pro-image-preview", "1:1", "1:1"),
    ],
)
def test_gemini_asks_for_the_print_aspect_or_the_nearest_the_model_supports(
    run, fake_gemini, model, wanted, asked
):
    run(driver.process(gemini_job(model, wanted)))

    (config,) = fake_gemini.generation_configs
    assert config == {"responseModalities": ["IMAGE"], "imageConfig": {"aspectRatio": asked}}


@pytest.mark.parametrize("wanted", ["", "wide", "3:0", "-3:2"])
def test_gemini_leaves_the_aspect_to_the_model_when_the_print_has_none(run, fake_gemini, wanted):
    run(driver.process(gemini_job("gemini-2.5-flash-image", wanted)))

    assert fake_gemini.generation_configs == [{"responseModalities": ["IMAGE"]}]


@pytest.mark.parametrize(
    ("model", "image_config"),
    [
        ("gemini-3-pro-image-preview", {"aspectRatio": "3:2", "imageSize": "2K"}),
        ("gemini-3.1-flash-image-preview", {"aspectRatio": "3:2", "imageSize": "2K"}),
        ("gemini-3-pro-image", {"aspectRatio": "3:2", "imageSize": "2K"}),  # its GA id
        ("gemini-2.5-flash-image", {"aspectRatio": "3:2"}),  # 1K only: no imageSize
        ("gemini-4-image", {"aspectRatio": "3:2"}),  # unknown to the driver: no guessing
    ],
)
def test_gemini_asks_for_an_image_size_only_from_models_that_take_one(
    run, fake_gemini, model, image_config
):
    run(driver.process(gemini_job(model, "3:2", image_size="2K")))

    assert fake_gemini.generation_configs[0]["imageConfig"] == image_config


def test_the_fake_refuses_an_image_size_the_model_does_not_take(run, fake_gemini, monkeypatch):
    """Guards the tests above: an imageSize sent to Gemini 2.5 would not go unnoticed."""
    wrong = gemini.ImageModel("claims 4K", gemini.COMMON_RATIOS, ("4K",))
    monkeypatch.setitem(gemini.IMAGE_MODELS, "gemini-2.5-flash-image", wrong)

    failure = failure_of(run, gemini_job("gemini-2.5-flash-image", "3:2", image_size="4K"))

    assert failure.code == "bad_response"
    assert "INVALID_ARGUMENT" in failure.detail


@pytest.mark.parametrize(
    ("safety", "threshold"),
    [
        (None, "BLOCK_MEDIUM_AND_ABOVE"),
        ("standard", "BLOCK_MEDIUM_AND_ABOVE"),
        ("strict", "BLOCK_LOW_AND_ABOVE"),
        ("relaxed", "BLOCK_ONLY_HIGH"),
    ],
)
def test_gemini_safety_level_sets_one_threshold_for_the_adjustable_categories(
    run, fake_gemini, safety, threshold
):
    extra = {"safety": safety} if safety else {}

    run(driver.process(gemini_job("gemini-2.5-flash-image", **extra)))

    assert fake_gemini.generate_requests[0].json()["safetySettings"] == [
        {"category": "HARM_CATEGORY_HARASSMENT", "threshold": threshold},
        {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": threshold},
        {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "threshold": threshold},
        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": threshold},
    ]


def test_gemini_retired_model_is_provider_unconfigured_and_not_retried(run, fake_gemini, settings):
    settings.GEMINI_RETRY_MIN_SECONDS = 0
    job = gemini_job("gemini-2.0-flash-preview-image-generation", "3:2")

    failure = failure_of(run, job)

    assert failure.code == "provider_unconfigured"
    assert "model gemini-2.0-flash-preview-image-generation is not available" in failure.detail
    assert len(fake_gemini.generate_requests) == 1


def test_gemini_ping_fails_when_the_configured_model_is_retired(run, fake_gemini, settings):
    settings.GEMINI_MODEL = "gemini-2.5-flash-image-preview"

    assert run(driver.ping(api_key=FakeGemini.api_key)) is False
