import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image
from skimage import color

from providers import matting
from providers.base import PROVIDER_UNCONFIGURED
from providers.local import DEFAULT_BACKDROP

# Boxes (left, top, right, bottom) in the 512×512 astronaut portrait, chosen by looking at it.
FACE = (190, 95, 255, 165)  # eyes, nose, mouth and cheeks: skin only
BACKGROUND = {
    "backdrop left of the head": (100, 5, 145, 120),
    "backdrop right of the head": (310, 5, 350, 170),
    "backdrop above the hair": (165, 0, 290, 10),
    "the flag": (5, 5, 60, 200),
    "the shuttle model": (370, 10, 450, 250),
}
GREEN = (30, 200, 70)


def region(image, box) -> np.ndarray:
    left, top, right, bottom = box
    return np.asarray(image)[top:bottom, left:right].astype(np.float32)


def face_delta_e(before, after) -> float:
    """Mean CIEDE2000 colour difference over the face: about 1 is just noticeable."""
    lab = [color.rgb2lab(region(image, FACE) / 255) for image in (before, after)]
    return float(color.deltaE_ciede2000(*lab).mean())


def share_of_background(image, box, colour) -> float:
    distance = np.abs(region(image, box) - np.array(colour, dtype=np.float32)).max(axis=2)
    return float((distance <= 12).mean())


def test_replace_background_keeps_the_face_and_replaces_the_backdrop(portrait):
    result = matting.replace_background(portrait, Image.new("RGB", (64, 64), GREEN), harmonise=0)

    assert result.size == portrait.size and result.mode == "RGB"
    assert face_delta_e(portrait, result) < 1.0
    boxes = list(BACKGROUND.values())
    replaced = sum(share_of_background(result, box, GREEN) * area(box) for box in boxes)
    assert replaced / sum(area(box) for box in boxes) >= 0.9


def area(box) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def test_default_harmonise_keeps_the_face_close_on_the_studio_backdrop(portrait):
    backdrop = Image.open(DEFAULT_BACKDROP)

    result = matting.replace_background(portrait, backdrop)

    assert 0.5 < face_delta_e(portrait, result) < 6


def test_harmonise_moves_the_subject_towards_the_background_colour(portrait):
    green = Image.new("RGB", (64, 64), GREEN)
    gentle, strong = (matting.replace_background(portrait, green, harmonise=h) for h in (0.3, 1))
    plain = matting.replace_background(portrait, green, harmonise=0)

    def green_cast(image):
        red, green_, blue = region(image, FACE).reshape(-1, 3).mean(axis=0)
        return green_ - (red + blue) / 2

    assert green_cast(plain) < green_cast(gentle) < green_cast(strong)
    assert face_delta_e(portrait, gentle) < 10


def test_background_is_scaled_and_centre_cropped_to_cover_the_photo(portrait):
    # A wide background: only its middle half fits a square photo's aspect.
    background = Image.new("RGB", (400, 100), (200, 0, 0))
    background.paste(GREEN, (100, 0, 300, 100))

    result = matting.replace_background(portrait, background, harmonise=0)

    for corner in ((0, 0, 12, 12), (500, 0, 512, 12)):
        assert share_of_background(result, corner, GREEN) == 1.0


def test_estimate_matte_is_a_grey_image_the_size_of_the_photo(portrait):
    photo = portrait.resize((333, 517))

    matte = matting.estimate_matte(photo)

    assert matte.mode == "L" and matte.size == (333, 517)
    assert matte.getpixel((145, 130)) == 255  # the face
    assert matte.getpixel((5, 5)) == 0  # the flag


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((6000, 4000), (768, 512)),
        ((4000, 6000), (512, 768)),
        ((512, 512), (512, 512)),
        ((600, 400), (576, 384)),
        ((300, 200), (768, 512)),
        ((8000, 1000), (1024, 128)),
    ],
)
def test_model_input_size_follows_modnet_reference_sizing(size, expected):
    assert matting.model_input_size(size) == expected


def test_installed_model_file_is_verified(settings):
    settings.LOCAL_MATTING_MODEL_PATH = ""

    ok, detail = matting.matting_model_status()

    assert ok, detail
    assert str(matting.model_path()).endswith("photobooth/utils/rembg/models/modnet.onnx")


def test_a_model_file_with_the_wrong_hash_refuses_to_load(settings, tmp_path, portrait):
    tampered = tmp_path / "modnet.onnx"
    tampered.write_bytes(matting.model_path().read_bytes()[:-1] + b"\0")
    settings.LOCAL_MATTING_MODEL_PATH = str(tampered)

    with pytest.raises(matting.MattingModelUnavailable) as refused:
        matting.estimate_matte(portrait)

    assert refused.value.code == PROVIDER_UNCONFIGURED
    assert str(tampered) in refused.value.detail and matting.MODEL_SHA256 in refused.value.detail
    assert matting.matting_model_status() == (False, refused.value.detail)


def test_a_missing_model_file_is_reported(settings, tmp_path):
    settings.LOCAL_MATTING_MODEL_PATH = str(tmp_path / "absent.onnx")

    ok, detail = matting.matting_model_status()

    assert not ok and "absent.onnx" in detail and "cannot be read" in detail
    with pytest.raises(matting.MattingModelUnavailable):
        matting.load_model()


def test_model_status_notices_a_file_replaced_after_a_good_check(settings, tmp_path):
    copy = tmp_path / "modnet.onnx"
    copy.write_bytes(matting.model_path().read_bytes())
    settings.LOCAL_MATTING_MODEL_PATH = str(copy)
    assert matting.matting_model_status()[0]

    copy.write_bytes(b"not a model")

    assert not matting.matting_model_status()[0]


def test_the_model_is_loaded_once_per_process(monkeypatch, portrait):
    monkeypatch.setattr(matting, "_loaded", None)
    loads = []
    real_session = matting.ort.InferenceSession

    def counting_session(*args, **kwargs):
        loads.append(threading.current_thread().name)
        return real_session(*args, **kwargs)

    monkeypatch.setattr(matting.ort, "InferenceSession", counting_session)
    small = portrait.resize((128, 128))
    start = threading.Barrier(4)

    def matte(_):
        start.wait(timeout=30)
        return matting.estimate_matte(small)

    with ThreadPoolExecutor(4) as pool:
        mattes = list(pool.map(matte, range(4)))
    matting.estimate_matte(small)

    assert len(loads) == 1
    first = np.asarray(mattes[0], dtype=np.int16)
    assert all(np.abs(np.asarray(m, dtype=np.int16) - first).max() <= 2 for m in mattes)
