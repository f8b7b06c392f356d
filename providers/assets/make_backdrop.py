"""Regenerates studio-backdrop.jpg, the local provider's default background (run by hand).

A painted-canvas studio backdrop: a soft light spot behind the subject's head and shoulders,
falling off to darker edges, with faint low-frequency mottling and a little grain so the
gradient does not band in print. Seeded, so a rerun gives the same picture.

    .venv/bin/python providers/assets/make_backdrop.py
"""

from pathlib import Path

import numpy as np
from PIL import Image

SIZE = (3000, 2000)
CENTRE = (0.5, 0.38)  # the light spot, as fractions of width and height
LIGHT = np.array([186, 190, 180], dtype=np.float32)  # warm grey-green behind the head
DARK = np.array([42, 54, 58], dtype=np.float32)  # deep slate at the corners
OUT = Path(__file__).with_name("studio-backdrop.jpg")


def falloff(width: int, height: int) -> np.ndarray:
    """0 at the light spot, 1 towards the corners, eased so the spot has no hard rim."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    dx = (x / width - CENTRE[0]) * (width / height)
    dy = y / height - CENTRE[1]
    distance = np.sqrt(dx * dx + dy * dy) / 0.95
    return np.clip(distance, 0, 1) ** 1.6


def mottling(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """Cloud-like brightness variation of a few levels, like a hand-painted canvas."""
    layers = np.zeros((height, width), dtype=np.float32)
    for cells, amplitude in ((6, 8.0), (14, 3.0), (40, 1.0)):
        noise = rng.normal(0, 1, (cells * height // width + 2, cells + 2)).astype(np.float32)
        field = Image.fromarray(noise, "F").resize((width, height), Image.Resampling.BICUBIC)
        layers += amplitude * np.asarray(field)
    return layers


def backdrop(rng: np.random.Generator) -> Image.Image:
    width, height = SIZE
    t = falloff(width, height)[..., np.newaxis]
    pixels = LIGHT * (1 - t) + DARK * t
    pixels += mottling(width, height, rng)[..., np.newaxis]
    pixels += rng.normal(0, 1.2, pixels.shape).astype(np.float32)
    return Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8), "RGB")


if __name__ == "__main__":
    backdrop(np.random.default_rng(20261130)).save(
        OUT, "JPEG", quality=88, optimize=True, progressive=True
    )
    print(OUT, OUT.stat().st_size // 1024, "KB")
