"""The local provider's background replacement: speed and memory (run by hand; prints figures,
writes bench/RESULTS.md).

For each LOCAL_MATTING_THREADS value it starts a fresh process that measures
  - RSS before loading the model (Django and onnxruntime imported), after loading it, after
    inferences at the landscape, portrait and square working sizes, after all the runs, and
    the peak;
  - p50/p95 of a whole LocalDriver.process() for 1, 12 and 24 MP booth JPEGs with the default
    studio backdrop as the background template: decode, matte, composite, JPEG encode;
  - the 24 MP split: photo decode, model inference alone, replace_background(), JPEG encode;
  - two 24 MP jobs at once (the default IMAGE_WORKERS), as wall time per pair;
then, in one process, inference alone with the thread counts taking turns.
The photos are made once, before the measuring processes start, so they cost those no memory.

    DEBUG=1 .venv/bin/python bench/matting.py [--runs 7] [--threads 1,2]
"""

import argparse
import asyncio
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photochanger.settings")

INPUTS = {"1 MP": (1224, 816), "12 MP": (4240, 2832), "24 MP": (6000, 4000)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(Path(args.child), args.runs)))
        return
    with tempfile.TemporaryDirectory() as folder:
        for label, size in INPUTS.items():
            (Path(folder) / f"{label}.jpg").write_bytes(booth_jpeg(size))
        results = {n: child(int(n), folder, args.runs) for n in args.threads.split(",")}
    section = report(results, args.runs, os.getloadavg())
    section += "\n" + threads_ab([int(n) for n in args.threads.split(",")], args.runs * 2)
    print(section)
    from bench.ingest import write_section

    heading = "## Local background replacement (bench/matting.py)"
    write_section(ROOT / "bench" / "RESULTS.md", heading, f"{heading}\n\n{section}")


def threads_ab(choices: list[int], runs: int) -> str:
    """Inference alone, one and two at once, with each thread count in turn within one process:
    interleaving gives every setting the same share of whatever else the machine is doing."""
    import django

    django.setup()
    import numpy as np
    import onnxruntime as ort

    from providers import matting

    def session(threads: int) -> ort.InferenceSession:
        options = ort.SessionOptions()  # as providers/matting.py sets them
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        options.enable_cpu_mem_arena = False
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(str(matting.model_path()), options)

    sessions = {n: session(n) for n in choices}
    feed = {"input": np.random.default_rng(1).random((1, 3, 512, 768), dtype=np.float32)}
    times: dict[int, dict[str, list[float]]] = {n: {"one": [], "two": []} for n in choices}
    with ThreadPoolExecutor(2) as pool:
        for _ in range(runs + 1):
            for n, s in sessions.items():
                times[n]["one"].append(elapsed_ms(lambda s=s: s.run(None, feed)))
                two = lambda s=s: list(pool.map(lambda _: s.run(None, feed), range(2)))  # noqa: E731
                times[n]["two"].append(elapsed_ms(two))
    lines = [
        f"Thread counts interleaved in one process, 768×512 inference, {runs} rounds; load "
        f"average {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| threads | one inference p50 ms | two at once, wall p50 ms |",
        "|---|---|---|",
    ]
    for n, t in times.items():
        alone, pair = statistics.median(t["one"][1:]), statistics.median(t["two"][1:])
        lines.append(f"| {n} | {alone:.0f} | {pair:.0f} |")
    return "\n".join(lines) + "\n"


def elapsed_ms(function) -> float:
    started = time.perf_counter()
    function()
    return (time.perf_counter() - started) * 1000


def child(threads: int, folder: str, runs: int) -> dict:
    env = {**os.environ, "LOCAL_MATTING_THREADS": str(threads)}
    command = [sys.executable, __file__, "--child", folder, "--runs", str(runs)]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def measure(folder: Path, runs: int) -> dict:
    import django

    django.setup()
    from PIL import Image

    from providers import matting

    figures: dict[str, Any] = {"rss_before_mb": rss_mb()}
    matting.load_model()
    figures["rss_loaded_mb"] = rss_mb()
    for size in ((768, 512), (512, 768), (512, 512)):  # landscape, portrait, square photos
        matting.estimate_matte(Image.effect_noise(size, 64).convert("RGB"))
    figures["rss_inferred_mb"] = rss_mb()
    photos = {label: (folder / f"{label}.jpg").read_bytes() for label in INPUTS}
    figures["sizes_mb"] = {label: len(data) / 1e6 for label, data in photos.items()}
    figures["process_ms"] = {
        label: timings(lambda data=data: process(data), runs) for label, data in photos.items()
    }
    figures["split_24mp_ms"] = split(photos["24 MP"], runs)
    figures["pair_24mp_ms"] = timings(lambda: process_pair(photos["24 MP"]), max(3, runs // 2))
    figures["rss_after_mb"] = rss_mb()
    figures["rss_peak_mb"] = rss_mb("VmHWM")
    return figures


def booth_jpeg(size: tuple[int, int]) -> bytes:
    """A portrait (scikit-image's astronaut) at `size` with sensor-like noise, as a camera JPEG."""
    from PIL import Image
    from skimage import data

    portrait = Image.fromarray(data.astronaut())
    side = max(size)
    portrait = portrait.resize((side, side), Image.Resampling.BICUBIC)
    top = (side - size[1]) // 2
    photo = portrait.crop((0, top, size[0], top + size[1]))
    # Grain strong enough for camera-like file sizes (about 0.4 MB per megapixel).
    noise = Image.merge("RGB", [Image.effect_noise(size, 64) for _ in range(3)])
    return encode(Image.blend(photo, noise, 0.2))


def job(data: bytes):
    from providers.base import ImageInput, ProviderJob, TemplateImage
    from providers.local import DEFAULT_BACKDROP

    backdrop = TemplateImage(DEFAULT_BACKDROP.read_bytes(), "image/jpeg", role="background")
    return ProviderJob(
        job_id="bench",
        slot_id="slot-001",
        operation="replace_background",
        settings={},
        photo=ImageInput(data, "image/jpeg"),
        templates=(backdrop,),
    )


def process(data: bytes) -> None:
    from providers.local import LocalDriver

    asyncio.run(LocalDriver().process(job(data)))


def process_pair(data: bytes) -> None:
    from providers.local import LocalDriver

    async def pair():
        driver = LocalDriver()
        await asyncio.gather(driver.process(job(data)), driver.process(job(data)))

    asyncio.run(pair())


def split(data: bytes, runs: int) -> dict[str, dict[str, list[float]]]:
    from PIL import Image

    from providers import matting
    from providers.local import DEFAULT_BACKDROP

    photo = decode(data)
    backdrop = decode(DEFAULT_BACKDROP.read_bytes())
    small = photo.resize(matting.model_input_size(photo.size), Image.Resampling.BOX)
    edited = matting.replace_background(photo, backdrop)
    return {
        "decode photo": timings(lambda: decode(data), runs),
        "model inference (at model size)": timings(lambda: matting.estimate_matte(small), runs),
        "replace_background()": timings(lambda: matting.replace_background(photo, backdrop), runs),
        "encode JPEG q92": timings(lambda: encode(edited), runs),
    }


def decode(data: bytes):
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image


def encode(image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def timings(function, runs: int) -> dict[str, list[float]]:  # wall, cpu
    """Wall and CPU milliseconds (all threads) per run. CPU time hardly changes when other
    processes compete for the cores, so it shows what a quiet machine's wall time would be."""
    function()  # warm-up: first-use allocations are not what a booth sees on every shot
    times: dict[str, list[float]] = {"wall": [], "cpu": []}
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        function()
        times["wall"].append((time.perf_counter() - started) * 1000)
        times["cpu"].append((time.process_time() - cpu) * 1000)
    return times


def rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def p50_p95(times: dict[str, list[float]]) -> str:
    ordered = sorted(times["wall"])
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.0f} / {p95:.0f} | {statistics.median(times['cpu']):.0f}"


def report(results: dict[str, dict], runs: int, load: tuple[float, float, float]) -> str:
    import platform

    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()} "
        f"({cpu_name()}), {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{runs} runs after a warm-up, each configuration in a fresh process; load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min) at the end. The photo "
        "is a portrait with sensor-like grain, the background the default studio backdrop "
        "(3000×2000 JPEG); output JPEG quality 92.",
        "",
        "| threads | input | JPEG MB | process() wall p50 / p95 ms | CPU p50 ms |",
        "|---|---|---|---|---|",
    ]
    for threads, figures in results.items():
        for label, times in figures["process_ms"].items():
            size = figures["sizes_mb"][label]
            lines.append(f"| {threads} | {label} | {size:.1f} | {p50_p95(times)} |")
    lines += [
        "",
        "| threads | 24 MP step | wall p50 / p95 ms | CPU p50 ms |",
        "|---|---|---|---|",
    ]
    for threads, figures in results.items():
        for step, times in figures["split_24mp_ms"].items():
            lines.append(f"| {threads} | {step} | {p50_p95(times)} |")
        pair = figures["pair_24mp_ms"]
        lines.append(f"| {threads} | two 24 MP process() at once, wall | {p50_p95(pair)} |")
    lines += [
        "",
        "| threads | RSS MB: before model → loaded → after three inferences → after all runs"
        " (peak) |",
        "|---|---|",
    ]
    for threads, f in results.items():
        lines.append(
            f"| {threads} | {f['rss_before_mb']:.0f} → {f['rss_loaded_mb']:.0f} → "
            f"{f['rss_inferred_mb']:.0f} → {f['rss_after_mb']:.0f} ({f['rss_peak_mb']:.0f}) |"
        )
    return "\n".join(lines) + "\n"


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


if __name__ == "__main__":
    main()
