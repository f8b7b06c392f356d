import io
import struct

import numpy as np
import pytest
import zxingcpp
from PIL import Image, ImageCms, ImageDraw
from skimage import data

from media import faces, images
from media.output import (
    PRESETS,
    OutputProfile,
    OverlayRejected,
    ProfileError,
    QrSpec,
    check_overlay,
    composite_overlay,
    encode_print,
    output_mime,
    render_delivery,
    render_print,
    target_size,
)

URL = "https://photo.example.com/r/q7Hs2LmX9aPz"


def astronaut(size=None) -> Image.Image:
    """A real photographed face (public domain NASA portrait shipped with scikit-image)."""
    image = Image.fromarray(data.astronaut())
    return image.resize(size, Image.Resampling.LANCZOS) if size else image


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def render(image, source_size=None, overlay=None, qr=None, **profile):
    return render_print(
        image,
        profile=OutputProfile(**profile),
        source_size=source_size or image.size,
        overlay=overlay,
        qr=qr,
    )


# --- sizes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "size"),
    [
        ("4x6-landscape", (1800, 1200)),
        ("4x6-portrait", (1200, 1800)),
        ("5x7-landscape", (2100, 1500)),
        ("5x7-portrait", (1500, 2100)),
        ("6x8-landscape", (2400, 1800)),
        ("6x8-portrait", (1800, 2400)),
        ("square-6x6", (1800, 1800)),
    ],
)
def test_each_print_preset_renders_exactly_its_paper_size_at_300_dpi(preset, size):
    profile = PRESETS[preset].profile
    answer = astronaut((1024, 1024))

    rendered = render_print(answer, profile=profile, source_size=(6000, 4000))

    assert rendered.image.size == size
    assert rendered.image.mode == "RGB"
    assert any("а" <= letter <= "я" for letter in PRESETS[preset].label.lower())


@pytest.mark.parametrize("fit", ["crop", "pad"])
@pytest.mark.parametrize("answer_size", [(1024, 1024), (1344, 768), (832, 1248), (6000, 4000)])
def test_a_slot_with_a_fixed_aspect_always_prints_the_same_pixel_size(fit, answer_size):
    profile = OutputProfile(aspect="3:2", long_side=1800, fit=fit)

    assert target_size(profile, (4000, 6000), image_size=answer_size) == (1800, 1200)
    assert render(Image.new("RGB", answer_size, "gray"), **profile.to_dict()).image.size == (
        1800,
        1200,
    )


def test_as_shot_follows_the_booth_photo_not_the_square_answer():
    profile = OutputProfile(aspect="as_shot", long_side=1800)

    assert target_size(profile, (4000, 6000), image_size=(1024, 1024)) == (1200, 1800)
    rendered = render_print(astronaut((1024, 1024)), profile=profile, source_size=(6000, 4000))
    assert rendered.image.size == (1800, 1200)


def test_no_long_side_keeps_the_rendered_image_resolution():
    profile = OutputProfile(aspect="as_shot", long_side=None)

    assert target_size(profile, (6000, 4000), image_size=(1024, 1024)) == (1024, 683)
    assert target_size(profile, (6000, 4000)) == (6000, 4000)


# --- the profile -------------------------------------------------------------------------------


def test_profile_round_trips_through_json_storage():
    profile = OutputProfile(aspect="5:4", long_side=2000, fit="pad", pad_color="#102030")

    assert OutputProfile.from_dict(profile.to_dict()) == profile
    assert OutputProfile.from_dict({}) == OutputProfile()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"aspect": "21:9"}, "aspect"),
        ({"aspect": "3x2"}, "aspect"),
        ({"long_side": 8001}, "long_side"),
        ({"long_side": 255}, "long_side"),
        ({"long_side": True}, "long_side"),
        ({"long_side": "1800"}, "long_side"),
        ({"fit": "stretch"}, "fit"),
        ({"pad_color": "white"}, "pad_color"),
        ({"sharpen": "yes"}, "sharpen"),
        ({"format": "gif"}, "format"),
        ({"quality": 0}, "quality"),
        ({"dpi": 300}, "dpi"),
    ],
)
def test_profile_refuses_what_it_cannot_render_with_a_clear_message(data, field):
    with pytest.raises(ProfileError) as refused:
        OutputProfile.from_dict(data)

    assert refused.value.field == field
    assert any("а" <= letter <= "я" for letter in refused.value.message.lower())


def test_output_format_same_keeps_the_input_type():
    assert output_mime(OutputProfile(format="same"), "image/png") == "image/png"
    assert output_mime(OutputProfile(format="webp"), "image/png") == "image/webp"


# --- crop on the face --------------------------------------------------------------------------


def x_coded_scene(width: int, height: int) -> Image.Image:
    """A background whose pixels say their own x: red = x mod 256, green = 16 * (x // 256)."""
    x = np.arange(width)
    row = np.stack([x % 256, (x // 256) * 16, np.full(width, 128)], axis=-1).astype(np.uint8)
    return Image.fromarray(np.repeat(row[np.newaxis], height, axis=0))


def left_edge_x(image: Image.Image) -> int:
    red, green, _ = image.getpixel((0, 2))
    return red + 256 * (green // 16)


def scene_with(portrait: Image.Image) -> Image.Image:
    """A 3:2 shot with a person on the right: the face is about x 1262-1411, centre 1337."""
    scene = x_coded_scene(1800, 1200)
    scene.paste(portrait.resize((768, 768)), (1000, 200))
    return scene


def test_crop_is_centred_on_the_face():
    rendered = render(scene_with(astronaut()), aspect="2:3", long_side=1200)

    left = left_edge_x(rendered.image)
    assert abs(left + 400 - 1337) <= 40  # the print's centre is the face's
    assert left <= 1262 and left + 800 >= 1411  # the whole face is on the print


def test_crop_without_a_face_is_centred():
    upside_down = astronaut().transpose(Image.Transpose.ROTATE_180)  # same pixels, no face

    rendered = render(scene_with(upside_down), aspect="2:3", long_side=1200)

    assert left_edge_x(rendered.image) == 500


def test_crop_is_centred_when_the_detector_fails(monkeypatch):
    def broken(grey):
        raise RuntimeError("cascade failed")

    monkeypatch.setattr(faces, "_find", broken)

    rendered = render(scene_with(astronaut()), aspect="2:3", long_side=1200)

    assert left_edge_x(rendered.image) == 500


def test_square_answer_cropped_to_landscape_keeps_the_top_of_the_head():
    answer = astronaut((1024, 1024))  # face high in the frame, about y 128-324

    rendered = render(answer, aspect="3:2", long_side=1024)

    assert rendered.image.size == (1024, 683)
    # Centred on the face, the window is pushed to the top edge: the first row is the photo's.
    expected = np.asarray(answer.crop((0, 0, 1024, 683)), dtype=int)
    assert np.abs(np.asarray(rendered.image, dtype=int) - expected).max() == 0


# --- pad ---------------------------------------------------------------------------------------


def test_pad_letterboxes_with_the_pad_colour():
    answer = Image.new("RGB", (1024, 1024), (30, 140, 110))

    rendered = render(answer, aspect="3:2", long_side=1800, fit="pad", pad_color="#ff0080")

    pixels = np.asarray(rendered.image)
    assert rendered.image.size == (1800, 1200)
    assert (pixels[:, :290] == (255, 0, 128)).all()
    assert (pixels[:, -290:] == (255, 0, 128)).all()
    assert (pixels[:, 310:-310] == (30, 140, 110)).all()


# --- overlay -----------------------------------------------------------------------------------


def event_frame(size=(1800, 1200)) -> Image.Image:
    frame = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(frame)
    draw.rectangle((0, 0, size[0] - 1, size[1] - 1), outline=(20, 90, 200, 255), width=60)
    draw.rectangle((100, 100, 500, 220), fill=(250, 200, 0, 255))  # the logo
    draw.rectangle((600, 100, 900, 220), fill=(255, 255, 255, 128))  # a translucent band
    return frame


def test_overlay_opaque_pixels_reach_the_print_unchanged_and_the_photo_shows_through():
    answer = astronaut((1024, 1024))
    frame = event_frame()
    bare = render(answer, aspect="3:2", long_side=1800).image

    framed = render(answer, aspect="3:2", long_side=1800, overlay=frame)

    pixels, alpha = np.asarray(framed.image), np.asarray(frame.getchannel("A"))
    opaque = alpha == 255
    assert (pixels[opaque] == np.asarray(frame.convert("RGB"))[opaque]).all()
    assert (pixels[alpha == 0] == np.asarray(bare)[alpha == 0]).all()
    band = pixels[alpha == 128].astype(int)
    assert (band > np.asarray(bare)[alpha == 128]).mean() > 0.9  # lightened, not replaced
    assert framed.warnings == ()


def test_overlay_is_scaled_to_the_print_and_stretching_is_reported():
    answer = Image.new("RGB", (1024, 1024), "gray")

    scaled = render(answer, aspect="3:2", long_side=1800, overlay=event_frame((900, 600)))
    stretched = render(answer, aspect="3:2", long_side=1800, overlay=event_frame((1000, 1000)))

    assert scaled.image.getpixel((5, 5)) == (20, 90, 200)
    assert scaled.warnings == ()
    assert stretched.image.getpixel((1795, 1195)) == (20, 90, 200)
    assert any("stretched" in warning for warning in stretched.warnings)


def test_composite_overlay_leaves_the_photo_alone():
    photo = Image.new("RGB", (600, 400), (10, 20, 30))

    result = composite_overlay(photo, event_frame((600, 400)))

    assert result.getpixel((5, 5)) == (20, 90, 200)
    assert result.getpixel((300, 300)) == (10, 20, 30)
    assert photo.getpixel((5, 5)) == (10, 20, 30)


def test_check_overlay_accepts_a_transparent_png_at_print_size():
    overlay = check_overlay(png(event_frame()))

    assert (overlay.mode, overlay.size) == ("RGBA", (1800, 1200))


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (images.encode(Image.new("RGB", (1800, 1200)), images.JPEG).data, "overlay_not_png"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "overlay_invalid"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "overlay_not_png"),
        (png(Image.new("RGB", (1800, 1200), "white")), "overlay_no_alpha"),
        (png(event_frame((400, 255))), "overlay_too_small"),
        (png(Image.new("RGBA", (1800, 1200), (255, 0, 0, 255))), "overlay_opaque"),
    ],
    ids=["jpeg", "broken-png", "svg", "no-alpha", "too-small", "opaque"],
)
def test_check_overlay_refuses_what_cannot_brand_a_print_with_a_russian_message(data, code):
    with pytest.raises(OverlayRejected) as refused:
        check_overlay(data)

    assert refused.value.code == code
    assert any("а" <= letter <= "я" for letter in str(refused.value).lower())


# --- QR code -----------------------------------------------------------------------------------


def read_qr(image: Image.Image):
    (found,) = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return found


@pytest.mark.parametrize("corner", ["bottom-right", "bottom-left", "top-right", "top-left"])
def test_qr_on_the_print_reads_back_the_exact_url_in_its_corner(corner):
    answer = astronaut((1024, 1024))
    spec = QrSpec(URL, corner=corner, caption="Скачать фото")

    rendered = render(answer, aspect="3:2", long_side=1800, overlay=event_frame(), qr=spec)

    found = read_qr(rendered.image)
    assert found.text == URL
    centre_x = (found.position.top_left.x + found.position.bottom_right.x) / 2
    centre_y = (found.position.top_left.y + found.position.bottom_right.y) / 2
    assert (centre_x > 900) == corner.endswith("right")
    assert (centre_y > 600) == corner.startswith("bottom")


def test_qr_survives_jpeg_encoding_at_quality_90():
    rendered = render(astronaut((1024, 1024)), aspect="3:2", long_side=1800, qr=QrSpec(URL))

    encoded = encode_print(rendered, images.JPEG, 90)

    assert read_qr(Image.open(io.BytesIO(encoded.data))).text == URL


@pytest.mark.parametrize(("long_side", "min_width"), [(1800, 236), (3600, 472), (1024, 134)])
def test_qr_is_at_least_2_cm_wide_on_a_4x6_print_and_scales_with_the_canvas(long_side, min_width):
    rendered = render(
        Image.new("RGB", (1024, 1024), (90, 90, 90)),
        aspect="3:2",
        long_side=long_side,
        qr=QrSpec(URL),
    )

    position = read_qr(rendered.image).position
    assert position.top_right.x - position.top_left.x + 1 >= min_width


def test_qr_spec_refuses_an_unknown_corner_and_a_long_caption():
    with pytest.raises(ValueError):
        QrSpec(URL, corner="middle")
    with pytest.raises(ValueError):
        QrSpec(URL, caption="x" * 41)


# --- upscaling, sharpening, colour, metadata ---------------------------------------------------


def test_a_tiny_answer_is_still_enlarged_to_the_print_with_a_warning():
    rendered = render(astronaut((256, 256)), aspect="3:2", long_side=1800)

    assert rendered.image.size == (1800, 1200)
    assert any("soft" in warning for warning in rendered.warnings)


def test_a_usual_gemini_answer_is_enlarged_without_a_warning():
    assert render(astronaut((1024, 1024)), aspect="3:2", long_side=1800).warnings == ()


def test_sharpening_applies_only_after_an_enlargement():
    small, large = astronaut((1024, 1024)), astronaut((2048, 2048))

    def rendered(image, sharpen):
        return np.asarray(render(image, aspect="3:2", long_side=1800, sharpen=sharpen).image)

    assert (rendered(large, True) == rendered(large, False)).all()
    assert (rendered(small, True) != rendered(small, False)).any()


def icc_rgb_profile(red_colorant, green_colorant, blue_colorant) -> bytes:
    """A minimal ICC v2 matrix/TRC RGB display profile (gamma 2.2) with the given colorants."""

    def xyz(values):
        return b"XYZ \0\0\0\0" + b"".join(struct.pack(">i", round(v * 65536)) for v in values)

    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(2.2 * 256)) + b"\0\0"
    tags = [
        (b"wtpt", xyz((0.9642, 1.0, 0.8249))),
        (b"rXYZ", xyz(red_colorant)),
        (b"gXYZ", xyz(green_colorant)),
        (b"bXYZ", xyz(blue_colorant)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset, table, body = 128 + 4 + 12 * len(tags), b"", b""
    for signature, payload in tags:
        table += signature + struct.pack(">II", offset + len(body), len(payload))
        body += payload
    size = offset + len(body)
    header = struct.pack(">I4sI4s4s4s", size, b"\0\0\0\0", 0x02100000, b"mntr", b"RGB ", b"XYZ ")
    header += b"\0" * 12 + b"acsp" + b"\0" * 28
    header += b"".join(struct.pack(">i", round(v * 65536)) for v in (0.9642, 1.0, 0.8249))
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + body


# sRGB's colorants adapted to the D50 profile connection space.
SRGB_RED = (0.4361, 0.2225, 0.0139)
SRGB_GREEN = (0.3851, 0.7169, 0.0971)
SRGB_BLUE = (0.1431, 0.0606, 0.7141)


def test_an_image_in_another_colour_profile_is_converted_to_srgb():
    # A profile whose first channel is sRGB's green: "pure red" pixels in it are green in sRGB.
    swapped = icc_rgb_profile(SRGB_GREEN, SRGB_RED, SRGB_BLUE)
    answer = Image.new("RGB", (1024, 1024), (255, 0, 0))
    answer.info["icc_profile"] = swapped

    rendered = render(answer, aspect="1:1", long_side=512)

    red, green, blue = rendered.image.getpixel((256, 256))
    assert green > 230 and red < 30 and blue < 30
    encoded = Image.open(io.BytesIO(encode_print(rendered, images.JPEG).data))
    assert "icc_profile" not in encoded.info


def test_an_srgb_image_keeps_its_pixels():
    answer = astronaut((1024, 683))
    answer.info["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

    rendered = render(answer, aspect="3:2", long_side=1024)

    assert rendered.image.tobytes() == answer.tobytes()


def test_a_transparent_answer_is_flattened_onto_white():
    answer = Image.new("RGBA", (1024, 1024), (0, 0, 0, 0))

    rendered = render(answer, aspect="1:1", long_side=512)

    assert rendered.image.mode == "RGB"
    assert rendered.image.getpixel((10, 10)) == (255, 255, 255)


def test_the_print_carries_no_exif_or_gps_and_the_input_is_left_untouched():
    answer = astronaut((600, 400))
    exif = Image.Exif()
    exif[0x8825] = {2: (55.0, 45.0, 0.0), 4: (37.0, 36.0, 0.0)}
    answer.info["exif"] = exif.tobytes()
    before = answer.tobytes()

    rendered = render(answer, aspect="as_shot", qr=QrSpec(URL))
    encoded = encode_print(rendered, images.JPEG, 85)

    assert rendered.image.size == (600, 400)
    assert answer.tobytes() == before
    assert b"Exif" not in encoded.data
    assert not Image.open(io.BytesIO(encoded.data)).getexif()


# --- the print cut from the upload's own decode -------------------------------------------------


def _jpeg_of(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


PHOTO = _jpeg_of(Image.new("RGB", (4000, 3000), (200, 40, 40)))
# Told apart from a decode of PHOTO by its colour.
GREEN_DECODE = Image.new("RGB", (2000, 1500), (30, 190, 60))


def delivered(decoded, **profile) -> Image.Image:
    rendered, _ = render_delivery(
        PHOTO,
        profile=OutputProfile(**profile),
        source_size=(4000, 3000),
        input_mime=images.JPEG,
        decoded=decoded,
    )
    return Image.open(io.BytesIO(rendered.payload.data)).convert("RGB")


def test_the_print_is_cut_from_the_uploads_decode_when_it_covers_the_print():
    printed = delivered(GREEN_DECODE, aspect="3:2", long_side=1800)

    assert printed.size == (1800, 1200)
    red, green, _ = printed.getpixel((900, 600))
    assert green > 150 and red < 80


@pytest.mark.parametrize(
    "profile",
    [{"aspect": "3:2", "long_side": 2400}, {"aspect": "3:2", "long_side": None}],
    ids=["larger-than-the-decode", "keeps-the-answers-own-size"],
)
def test_a_print_the_decode_cannot_cover_decodes_the_photo_itself(profile):
    printed = delivered(GREEN_DECODE, **profile)

    assert max(printed.size) == (profile["long_side"] or 4000)
    red, green, _ = printed.getpixel((printed.width // 2, printed.height // 2))
    assert red > 150 and green < 80
