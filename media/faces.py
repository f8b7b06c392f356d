"""Where the subject of a photo is: the largest frontal face, so a print crop keeps it.

The detector is OpenCV's Haar cascade `haarcascade_frontalface_default.xml`, which ships inside
the pinned opencv-python-headless wheel: nothing is downloaded, no model file is managed. It
finds upright, roughly frontal faces, which is what a photo booth sees; a profile or a tilted
head is missed and the crop falls back to the centre, which is never worse than no detector.

It runs on a grey copy of at most WORKING_PIXELS (about 420×280 for a 3:2 photo): the cost grows
with the pixels searched, not with the photo's resolution, and a budget in pixels rather than a
long side keeps faces in wide photos as large as in square ones. OpenCV is limited to one thread:
the image work pool (IMAGE_WORKERS) is what bounds parallel image work. Figures: bench/RESULTS.md.
"""

import threading
from typing import Any

import structlog
from PIL import Image

log = structlog.get_logger(__name__)

WORKING_PIXELS = 120_000
# A face smaller than this share of the working copy's short side is noise or a face in the
# background, never the subject; skipping those scales also halves the detector's time.
MIN_FACE_SHARE = 1 / 12
CASCADE = "haarcascade_frontalface_default.xml"

Box = tuple[int, int, int, int]

# A CascadeClassifier is not safe to share between threads: one per image worker thread.
_local = threading.local()


def largest_face(image: Image.Image) -> Box | None:
    """The largest face as (left, top, right, bottom) in `image` pixels, or None.

    Never raises: a detector that fails to load or to run means "no face" (logged), and the
    caller centres its crop instead.
    """
    try:
        return _detect(image)
    except Exception:
        log.warning("faces.detection_failed", exc_info=True)
        return None


def warm_up() -> None:
    """Import OpenCV and load the cascade now (about 0.1 s) instead of on the first crop."""
    _classifier()


def _detect(image: Image.Image) -> Box | None:
    import numpy as np

    scale = min(1.0, (WORKING_PIXELS / (image.width * image.height)) ** 0.5)
    small = image
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        small = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    grey = np.asarray(small.convert("L"))
    faces = _find(grey)
    if not len(faces):
        return None
    x, y, w, h = (int(v) for v in max(faces, key=lambda face: face[2] * face[3]))
    return (round(x / scale), round(y / scale), round((x + w) / scale), round((y + h) / scale))


def _find(grey: Any) -> Any:
    # No histogram equalisation first: the cascade normalises each window's contrast itself,
    # and stretching the whole image's histogram lets a bright background wash faces out.
    side = max(24, round(min(grey.shape) * MIN_FACE_SHARE))
    return _classifier().detectMultiScale(
        grey, scaleFactor=1.15, minNeighbors=5, minSize=(side, side)
    )


def _classifier() -> Any:
    classifier = getattr(_local, "classifier", None)
    if classifier is None:
        import cv2
        import cv2.data  # loaded by cv2 itself; its type stubs leave it out

        cv2.setNumThreads(1)
        classifier = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE)
        if classifier.empty():
            raise OSError(f"OpenCV could not load {CASCADE}")
        _local.classifier = classifier
    return classifier
