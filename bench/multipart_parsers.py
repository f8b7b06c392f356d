"""Why ingest.forms parses uploads with `multipart`: parsers timed on a booth's body.

Run by hand: `python bench/multipart_parsers.py`. The body is what DSLR Remote Pro sends (ten
text fields, then the photo), cut into the 64 KB pieces uvicorn hands over. Timed, median and
best of 15 runs of CPU time:
  - `multipart` (PushMultipartParser, as ingest.forms drives it), from the chunks;
  - Django's MultiPartParser as the old path ran it: the chunks spooled into a temporary file
    (on disk past 2.5 MB), parsed, the file part read back;
  - `python-multipart` (Starlette's), when installed (it is not a dependency).
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photochanger.settings")
os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 50)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.files.uploadhandler import (  # noqa: E402
    MemoryFileUploadHandler,
    TemporaryFileUploadHandler,
)
from django.http.multipartparser import MultiPartParser  # noqa: E402

from bench.gateway import BOUNDARY, FIELDS  # noqa: E402
from ingest.forms import FormReader  # noqa: E402

CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY.decode()}"


def body(size: int) -> bytes:
    parts = [
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="' + k.encode() + b'"'
        b"\r\n\r\n" + v.encode() + b"\r\n"
        for k, v in FIELDS.items()
    ]
    parts.append(
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="fileToUpload"; '
        b'filename="IMG_0003.JPG"\r\nContent-Type: image/jpeg\r\n\r\n'
        + os.urandom(size)
        + b"\r\n--"
        + BOUNDARY
        + b"--\r\n"
    )
    return b"".join(parts)


def with_multipart(chunks: list[bytes]) -> bytes:
    import multipart

    parser = multipart.PushMultipartParser(BOUNDARY, header_charset="latin1")
    file_chunks, part = [], None
    for chunk in [*chunks, b""]:
        for event in parser.parse(chunk):
            if isinstance(event, multipart.MultipartSegment):
                part = event
            elif event is not None and part is not None and part.name == "fileToUpload":
                file_chunks.append(event)
    return b"".join(file_chunks)


def with_django(chunks: list[bytes]) -> bytes:
    spool = tempfile.SpooledTemporaryFile(settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115
    for chunk in chunks:
        spool.write(chunk)
    spool.seek(0)
    meta = {"CONTENT_TYPE": CONTENT_TYPE, "CONTENT_LENGTH": str(sum(map(len, chunks)))}
    handlers = [MemoryFileUploadHandler(), TemporaryFileUploadHandler()]
    _, files = MultiPartParser(meta, spool, handlers).parse()  # type: ignore[arg-type]
    upload = files["fileToUpload"]
    with upload:  # type: ignore[union-attr]
        return upload.read()  # type: ignore[union-attr]


def with_python_multipart(chunks: list[bytes]) -> bytes:
    from python_multipart.multipart import MultipartParser

    state: dict[str, list[bytes]] = {"data": [], "headers": []}

    def on_part_data(data, start, end):
        state["data"].append(data[start:end])

    parser = MultipartParser(BOUNDARY, {"on_part_data": on_part_data})
    for chunk in chunks:
        parser.write(chunk)
    parser.finalize()
    return b"".join(state["data"])


def timed(parse, chunks: list[bytes]) -> tuple[float, float]:
    times = []
    for _ in range(15):
        started = time.process_time()
        parse(chunks)
        times.append(time.process_time() - started)
    return statistics.median(times) * 1000, min(times) * 1000


def main() -> None:
    parsers = {"multipart (chosen)": with_multipart, "Django, spooled": with_django}
    try:
        import python_multipart  # noqa: F401

        parsers["python-multipart"] = with_python_multipart
    except ImportError:
        pass
    FormReader(CONTENT_TYPE, file_field="fileToUpload", max_body_bytes=1)  # imports warmed
    print("| body | parser | CPU ms, median / best of 15 |\n|---|---|---|")
    for label, size in (("100 KB", 100_000), ("15 MB", 15_000_000)):
        data = body(size)
        chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]
        for name, parse in parsers.items():
            median, best = timed(parse, chunks)
            print(f"| {label} | {name} | {median:.2f} / {best:.2f} |")


if __name__ == "__main__":
    main()
