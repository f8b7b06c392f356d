import io
import random

import pytest
from PIL import Image, ImageChops

from media import images


def jpeg(size=(120, 90), orientation=None, gps=False, comment=b"", icc=None) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((20, 20, 220), (0, 0, size[0] // 3, size[1] // 3))
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {2: (55.0, 45.0, 0.0), 4: (37.0, 36.0, 0.0)}
    out = io.BytesIO()
    options = {"exif": exif, "quality": 90}
    if comment:
        options["comment"] = comment
    if icc:
        options["icc_profile"] = icc
    image.save(out, "JPEG", **options)
    return out.getvalue()


def test_upright_jpeg_loses_exif_gps_and_comments_but_keeps_pixels_and_icc():
    original = jpeg(gps=True, comment=b"secret note", icc=b"fake-icc-profile")
    clean = images.normalise_upload(original)

    assert b"Exif" not in clean.data and b"secret note" not in clean.data
    result = Image.open(io.BytesIO(clean.data))
    assert not result.getexif()
    assert result.info.get("icc_profile") == b"fake-icc-profile"
    assert result.tobytes() == Image.open(io.BytesIO(original)).tobytes()  # lossless


def test_polyglot_payload_after_the_image_end_is_dropped():
    polyglot = jpeg() + b"<html><script>alert(1)</script></html>"
    clean = images.normalise_upload(polyglot)
    assert b"<html>" not in clean.data
    assert clean.data.endswith(b"\xff\xd9")


def test_rotated_jpeg_is_turned_upright_and_re_encoded_without_exif():
    clean = images.normalise_upload(jpeg(size=(120, 90), orientation=6))
    result = Image.open(io.BytesIO(clean.data))
    assert result.size == (90, 120)
    assert not result.getexif()


def test_truncated_jpeg_is_invalid_even_on_the_fast_path():
    big = io.BytesIO()
    Image.effect_noise((800, 600), 60).convert("RGB").save(big, "JPEG", quality=95)
    with pytest.raises(images.InvalidImage):
        images.normalise_upload(big.getvalue()[: big.tell() // 2])


@pytest.mark.parametrize("data", [b"", b"GIF89a....", b"\x00" * 100, b"RIFF1234WAVE"])
def test_non_images_are_unsupported(data):
    with pytest.raises(images.UnsupportedImage):
        images.normalise_upload(data)


def test_corrupt_header_with_jpeg_magic_is_invalid_not_unsupported():
    with pytest.raises(images.InvalidImage):
        images.normalise_upload(b"\xff\xd8\xff\xe0garbage-not-a-jpeg")


def test_untrusted_result_is_re_encoded_in_the_output_format():
    png = io.BytesIO()
    Image.new("RGBA", (300, 200), (10, 200, 100, 128)).save(png, "PNG")
    rendered = images.render_result(png.getvalue(), images.JPEG)
    assert Image.open(io.BytesIO(rendered.payload.data)).format == "JPEG"
    preview = Image.open(io.BytesIO(images.make_preview(rendered).data))
    assert preview.format == "WEBP" and preview.size == (300, 200)


def test_trusted_result_in_the_output_format_is_served_as_is():
    data = images.normalise_upload(jpeg(size=(1200, 900))).data
    rendered = images.render_result(data, images.JPEG, trusted=True)
    assert rendered.payload.data is data
    assert rendered.preview_source is None  # nothing decoded before the answer is sent
    preview = Image.open(io.BytesIO(images.make_preview(rendered).data))
    assert preview.size == (512, 384)


@pytest.mark.parametrize(
    ("size", "draft"),
    [
        ((6000, 4000), (750, 500)),
        ((4000, 3000), (500, 375)),
        ((3500, 2624), (875, 656)),
        ((800, 600), (800, 600)),
    ],
)
def test_the_validation_decode_is_as_small_as_the_preview_allows(size, draft):
    """1/8 scale where that still leaves PREVIEW_MIN_SIDE on the long side, less reduction
    below."""
    data = jpeg(size=size)
    check = images.JpegCheck()
    for start in range(0, len(data), 4096):
        check.feed(data[start : start + 4096])
    assert check.size == size and check.draft.size == draft
    assert images.normalise_upload(data).draft.size == draft


def test_the_validation_decode_keeps_the_side_a_provider_sends():
    data = jpeg(size=(6000, 4000))
    check = images.JpegCheck(decode_side=2048)
    for start in range(0, len(data), 65536):
        check.feed(data[start : start + 65536])

    assert check.draft.size == (3000, 2000)
    assert images.normalise_upload(data, decode_side=2048).draft.size == (3000, 2000)
    # A photo no larger than the copy is sent as it is: the decode stays the preview's.
    assert images.normalise_upload(jpeg(size=(1600, 1200)), decode_side=2048).draft.size == (
        800,
        600,
    )


def test_a_job_keeps_only_the_preview_size_of_a_decode_made_for_a_provider():
    data = jpeg(size=(6000, 4000))
    for_provider = images.normalise_upload(data, decode_side=2048)
    for_preview = images.normalise_upload(data)

    kept = images.keep_for_preview(for_provider)

    assert kept.draft.size == (512, 341) and kept.data is for_provider.data
    assert images.keep_for_preview(for_preview) is for_preview
    rendered = images.render_result(kept.data, images.JPEG, trusted=True, draft=kept.draft)
    preview = Image.open(io.BytesIO(images.make_preview(rendered).data))
    assert preview.size == (512, 341)


def test_the_preview_of_a_pass_through_is_cut_from_the_validation_decode():
    data = jpeg(size=(4000, 3000))
    check = images.JpegCheck()
    check.feed(data)
    photo = images.normalise_checked_jpeg([data], check)
    rendered = images.render_result(photo.data, images.JPEG, trusted=True, draft=photo.draft)

    from_draft = Image.open(io.BytesIO(images.make_preview(rendered).data))
    decoded = Image.open(io.BytesIO(images.preview_of(photo.data, images.JPEG).data))
    assert from_draft.size == decoded.size == (500, 375)  # the 1/8 scale, not shrunk again
    difference = ImageChops.difference(from_draft.convert("RGB"), decoded.convert("RGB"))
    assert max(high for _, high in difference.getextrema()) < 8


@pytest.mark.parametrize("size", [(1, 1), (7, 7), (1, 10_000), (10_000, 1), (9, 3)])
def test_jpegs_with_a_side_under_eight_pixels_are_accepted_at_their_size(size):
    clean = images.normalise_upload(jpeg(size=size))

    assert (clean.mime, clean.width, clean.height) == (images.JPEG, *size)


def test_fast_path_reports_the_full_size_not_the_reduced_validation_decode():
    clean = images.normalise_upload(jpeg(size=(640, 480)))
    assert (clean.width, clean.height) == (640, 480)


def _saved(image: Image.Image, form: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, form, **options)
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        _saved(Image.new("CMYK", (2, 2)), "JPEG"),
        _saved(Image.new("P", (30, 30)), "PNG", transparency=0),
        _saved(Image.new("1", (30, 30)), "PNG"),
        _saved(Image.new("I;16", (30, 30)), "PNG"),
        _saved(Image.new("LA", (1, 10_000)), "PNG"),
    ],
    ids=["cmyk-jpeg", "palette-png", "1-bit-png", "16-bit-png", "tall-grey-alpha-png"],
)
def test_unusual_pixel_layouts_come_out_as_clean_images(data):
    clean = images.normalise_upload(data)
    assert Image.open(io.BytesIO(clean.data)).size == Image.open(io.BytesIO(data)).size


@pytest.mark.parametrize("form", ["PNG", "WEBP"])
def test_animations_keep_their_first_frame_only(form):
    frames = [Image.new("RGB", (40, 30), (i * 80, 0, 0)) for i in range(3)]
    animation = _saved(frames[0], form, save_all=True, append_images=frames[1:])

    clean = Image.open(io.BytesIO(images.normalise_upload(animation).data))

    assert getattr(clean, "n_frames", 1) == 1
    assert clean.convert("RGB").getpixel((0, 0)) == (0, 0, 0)


def _noisy_jpeg(size=(800, 600), **options) -> bytes:
    # Noise makes a JPEG big enough (about 100 KB) to stream in many chunks.
    noise = Image.effect_noise(size, 60).convert("RGB")
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=92, **options)
    return out.getvalue()


_GARBAGE = random.Random(7).randbytes(15_000)


def _pieces(data: bytes, size: int = 4096) -> list[bytes]:
    return [data[offset : offset + size] for offset in range(0, len(data), size)]


def _fed(pieces: list[bytes]) -> images.JpegCheck:
    check = images.JpegCheck()
    for piece in pieces:
        check.feed(piece)
    return check


def test_a_jpeg_checked_as_it_arrives_comes_out_as_normalise_upload_makes_it():
    exif = Image.Exif()
    exif[0x8825] = {2: (55.0, 45.0, 0.0)}
    photo = _noisy_jpeg(exif=exif) + b"trailing polyglot"
    pieces = _pieces(photo)

    clean = images.normalise_checked_jpeg(pieces, _fed(pieces))

    assert clean == images.normalise_upload(photo)
    assert (clean.width, clean.height) == (800, 600)


@pytest.mark.parametrize("options", [{}, {"progressive": True}], ids=["baseline", "progressive"])
def test_a_jpeg_is_stripped_from_the_pieces_it_arrived_in_as_from_the_whole(options):
    photo = _noisy_jpeg(size=(160, 120), **options) + b"\xff\xd9\xff\xe1 after its end"
    # In small pieces, and in two split inside each marker (0xFF, then its code) but the
    # first: JpegCheck does not vouch for a photo whose first piece is one byte.
    splits = [_pieces(photo, 7), _pieces(photo, 4093)] + [
        [photo[: at + 1], photo[at + 1 :]] for at in _ff_offsets(photo)[1:]
    ]
    whole = images.strip_jpeg_metadata([photo])
    for pieces in splits:
        check = _fed(pieces)

        stripped = images.strip_jpeg_metadata(pieces, markers=check.markers)

        assert stripped is not None and stripped == whole
        assert images.normalise_checked_jpeg(pieces, check) == images.normalise_upload(photo)


def _ff_offsets(data: bytes) -> list[int]:
    """Offsets of 0xFF bytes followed by a marker code (not a stuffed 0x00 or another 0xFF)."""
    return [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] not in (0, 0xFF)]


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) * 2 // 3],
        lambda data: data[: len(data) // 2] + _GARBAGE + data[len(data) // 2 + len(_GARBAGE) :],
    ],
    ids=["cut-short", "corrupt-scan"],
)
def test_a_damaged_jpeg_is_not_vouched_for_and_normalise_upload_refuses_it(damage):
    photo = damage(_noisy_jpeg())
    pieces = _pieces(photo)

    assert images.normalise_checked_jpeg(pieces, _fed(pieces)) is None
    with pytest.raises(images.InvalidImage):
        images.normalise_upload(photo)


def test_rotated_or_non_jpeg_photos_are_left_to_normalise_upload():
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated = _noisy_jpeg(exif=exif)
    png = _saved(Image.effect_noise((300, 300), 60), "PNG")

    assert _fed(_pieces(rotated)).size is None
    assert _fed(_pieces(png)).size is None
