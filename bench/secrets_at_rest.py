"""What encrypting provider keys at rest costs a request (core/crypto.py).

Prints the median and p95 over several runs, in microseconds, of
  seal               - encrypting one key (a settings save),
  unseal, first      - opening a token this process has not seen (derivation cached),
  unseal, cached     - opening it again (what every request after the first pays),
  load_runtime_settings() with two sealed keys vs. the same without keys (one query each),
on a throw-away SQLite database.

    DEBUG=1 python bench/secrets_at_rest.py [--runs 2000] [--write]
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photochanger.settings")
os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"

import django

django.setup()

from django.core.management import call_command  # noqa: E402

from bench.ingest import write_section  # noqa: E402
from core import crypto  # noqa: E402
from core.models import RuntimeSetting  # noqa: E402
from core.runtime import load_runtime_settings, set_runtime_setting  # noqa: E402

HEADING = "## Provider keys at rest (bench/secrets_at_rest.py)"


def timed_us(function, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1e6)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def first_unseal(runs: int) -> tuple[float, float]:
    tokens = [crypto.seal(f"AIza-key-{n}") for n in range(runs)]
    it = iter(tokens)
    return timed_us(lambda: crypto.unseal(next(it)), runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    runs = args.runs
    call_command("migrate", verbosity=0)
    token = crypto.seal("AIzaSyD-a-realistic-gemini-key-0123456789")
    rows = {
        "seal": timed_us(lambda: crypto.seal("AIzaSyD-a-realistic-gemini-key-0123456789"), runs),
        "unseal, first": first_unseal(runs),
        "unseal, cached": timed_us(lambda: crypto.unseal(token), runs),
        "load_runtime_settings(), no keys": timed_us(load_runtime_settings, runs),
    }
    set_runtime_setting(key="gemini_api_key", value="AIzaSyD-gemini-0123456789")
    set_runtime_setting(key="turbotext_api_key", value="turbotext-0123456789abcdef")
    assert crypto.is_sealed(RuntimeSetting.objects.get(key="gemini_api_key").value)
    rows["load_runtime_settings(), two sealed keys"] = timed_us(load_runtime_settings, runs)
    lines = [f"| {name} | {p50:.1f} | {p95:.1f} |" for name, (p50, p95) in rows.items()]
    table = "\n".join(["| step | p50 µs | p95 µs |", "|---|---|---|", *lines])
    print(table)
    if args.write:
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        section = (
            f"{HEADING}\n\nMeasured {when} on {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, SQLite; {runs} runs each.\n\n{table}\n"
        )
        write_section(Path(__file__).with_name("RESULTS.md"), HEADING, section)


if __name__ == "__main__":
    main()
