import io

import jsonschema
import pytest
from asgiref.sync import async_to_sync
from PIL import Image

from providers.base import (
    PROVIDER_UNCONFIGURED,
    ImageInput,
    ProviderError,
    ProviderJob,
    TemplateImage,
)
from providers.local import DEFAULT_BACKDROP, LocalDriver


def photo(mime="image/jpeg") -> ImageInput:
    out = io.BytesIO()
    Image.new("RGB", (200, 150), (40, 120, 200)).save(
        out, "JPEG" if mime == "image/jpeg" else "PNG"
    )
    return ImageInput(out.getvalue(), mime)


def run(operation, settings=None, templates=(), source=None):
    job = ProviderJob(
        job_id="j",
        slot_id="slot-001",
        operation=operation,
        settings=settings or {},
        photo=source or photo(),
        templates=templates,
    )
    result = async_to_sync(LocalDriver().process)(job)
    return result, Image.open(io.BytesIO(result.data))


@pytest.mark.parametrize("name", ["sepia", "mono", "warm", "cool", "vivid"])
def test_each_filter_changes_the_photo(name):
    result, image = run("filter", {"filter": name})
    assert result.mime == "image/jpeg"
    assert image.size == (200, 150)
    assert image.convert("RGB").getpixel((100, 75)) != (40, 120, 200)


def test_frame_without_template_draws_a_border():
    _, image = run("frame", {"border_color": "#ff0000", "border_percent": 10})
    r, _, b = image.convert("RGB").getpixel((2, 75))
    assert r > 200 and b < 60


def test_passthrough_returns_the_input_and_png_stays_png():
    source = photo("image/png")
    result, _ = run("passthrough", source=source)
    assert result.data == source.data
    result, _ = run("filter", {"filter": "mono"}, source=source)
    assert result.mime == "image/png"


def encoded(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def background(colour=(30, 200, 70)) -> TemplateImage:
    image = Image.new("RGB", (300, 200), colour)
    return TemplateImage(encoded(image, "PNG"), "image/png", role="background")


def test_replace_background_puts_the_person_on_the_background_template(portrait):
    source = ImageInput(encoded(portrait, "JPEG"), "image/jpeg")
    style = TemplateImage(encoded(Image.new("RGB", (64, 64), "red"), "PNG"), "image/png")

    result, image = run(
        "replace_background", {"harmonise": 0}, templates=(style, background()), source=source
    )

    assert result.mime == "image/jpeg"
    assert image.size == portrait.size
    r, g, b = image.convert("RGB").getpixel((120, 40))  # the grey backdrop, now green
    assert g > 180 and r < 60 and b < 100
    face = image.convert("RGB").getpixel((222, 130))
    assert all(abs(a - b) < 16 for a, b in zip(face, portrait.getpixel((222, 130)), strict=True))


def test_replace_background_without_a_background_template_is_unconfigured():
    overlay = TemplateImage(
        encoded(Image.new("RGBA", (50, 50)), "PNG"), "image/png", role="overlay"
    )

    with pytest.raises(ProviderError) as failure:
        run("replace_background", templates=(overlay,))

    assert failure.value.code == PROVIDER_UNCONFIGURED
    assert "background template" in failure.value.detail


def test_replace_background_with_a_tampered_model_is_unconfigured(settings, tmp_path):
    tampered = tmp_path / "modnet.onnx"
    tampered.write_bytes(b"not the pinned model")
    settings.LOCAL_MATTING_MODEL_PATH = str(tampered)

    with pytest.raises(ProviderError) as failure:
        run("replace_background", templates=(background(),))

    assert failure.value.code == PROVIDER_UNCONFIGURED
    assert "SHA-256" in failure.value.detail


def test_settings_schema_takes_harmonise_between_0_and_1():
    schema = LocalDriver.settings_schema
    jsonschema.validate({"harmonise": 0.5}, schema)
    for wrong in ({"harmonise": 1.5}, {"harmonise": "strong"}, {"blend": 1}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, schema)


def test_default_backdrop_is_a_studio_sized_jpeg():
    with Image.open(DEFAULT_BACKDROP) as backdrop:
        assert backdrop.format == "JPEG" and backdrop.size == (3000, 2000)
    assert DEFAULT_BACKDROP.stat().st_size <= 400_000
