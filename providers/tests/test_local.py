import io

import pytest
from asgiref.sync import async_to_sync
from PIL import Image

from providers.base import ImageInput, ProviderJob, TemplateImage
from providers.local import LocalDriver


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


def test_frame_composites_the_overlay_template():
    overlay = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    overlay.paste((255, 0, 0, 255), (0, 0, 50, 5))  # a red band on top
    out = io.BytesIO()
    overlay.save(out, "PNG")
    template = TemplateImage(out.getvalue(), "image/png", role="overlay")
    _, image = run("frame", templates=(template,))
    r, g, _ = image.convert("RGB").getpixel((100, 2))
    assert r > 200 and g < 60


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
