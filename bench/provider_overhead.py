"""The Gemini driver's own overhead, measured against the loopback fake Gemini.

For 1 MB (small and large in pixels) and 15 MB booth JPEGs it prints the median time of
  encode   - downscale (JPEG draft decoding), base64 and JSON of the request body,
  decode   - JSON, base64 and the image check of a 1024 px PNG answer,
  process  - a whole GeminiDriver.process() against the fake (encode + loopback + decode),
all on this machine's CPU. The fake answers at once, so nothing here is provider time.

    DEBUG=1 python bench/provider_overhead.py [--runs 10]
"""

import argparse
import asyncio
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photochanger.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from PIL import Image  # noqa: E402

from bench.ingest import write_section  # noqa: E402
from providers.base import ImageInput, ProviderJob  # noqa: E402
from providers.gemini import GeminiDriver, decode_answer, encode_request  # noqa: E402
from providers.http import close_client  # noqa: E402
from providers.tests.fakes import FakeGemini, gemini_image_answer  # noqa: E402

# (size, noise sigma, JPEG quality): noisy enough to land near the named file size.
INPUTS = [((1800, 1200), 20, 90), ((3000, 2000), 8, 85), ((6000, 4000), 25, 92)]


def noisy_image(size: tuple[int, int], sigma: float) -> Image.Image:
    return Image.merge("RGB", [Image.effect_noise(size, sigma) for _ in range(3)])


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def median_ms(function, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def median_process_ms(job: ProviderJob, runs: int) -> float:
    driver, times = GeminiDriver(), []
    await driver.process(job)  # warm the connection
    for _ in range(runs):
        started = time.perf_counter()
        await driver.process(job)
        times.append((time.perf_counter() - started) * 1000)
    await close_client()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    answer_png = encoded(noisy_image((1024, 1024), 20), "PNG")
    answer = gemini_image_answer(answer_png)
    with FakeGemini() as fake:
        fake.default = answer
        settings.GEMINI_BASE_URL = fake.url
        max_side = settings.GEMINI_MAX_SIDE
        decode = median_ms(lambda: decode_answer(answer.body), runs)
        lines = [
            f"Answer: 1024×1024 PNG of {len(answer_png) / 1e6:.1f} MB, decoded and checked in "
            f"{decode:.0f} ms. Inputs are downscaled to {max_side} px on the long side.",
            "",
            "| input JPEG | request body | encode (downscale + base64 + JSON) | whole process() |",
            "|---|---|---|---|",
        ]
        for size, sigma, quality in INPUTS:
            photo = encoded(noisy_image(size, sigma), "JPEG", quality=quality)
            job = ProviderJob(
                job_id="bench",
                slot_id="slot-001",
                operation="image_edit",
                settings={"prompt": "Replace the background with a beach at sunset"},
                photo=ImageInput(photo, "image/jpeg"),
                api_key=FakeGemini.api_key,
            )
            body = encode_request(job, max_side=max_side)
            encode = median_ms(lambda job=job: encode_request(job, max_side=max_side), runs)
            process = asyncio.run(median_process_ms(job, runs))
            lines.append(
                f"| {len(photo) / 1e6:.1f} MB, {size[0]}×{size[1]} | {len(body) / 1e6:.2f} MB "
                f"| {encode:.0f} ms | {process:.0f} ms |"
            )
    table = "\n".join(lines)
    print(table)
    heading = "## Gemini driver overhead (bench/provider_overhead.py)"
    write_section(
        Path(__file__).with_name("RESULTS.md"),
        heading,
        f"{heading}\n\nMedians of {runs} runs against the loopback fake Gemini, which answers "
        "at once: all of it is this machine's CPU.\n\n" + table + "\n",
    )


if __name__ == "__main__":
    main()
