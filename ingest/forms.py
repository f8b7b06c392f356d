"""Reading an upload's multipart form as its body arrives: text fields, one file, its digests.

The ASGI layer (`ingest.asgi`) feeds the body here chunk by chunk, so a form is parsed once,
from bytes already in memory: no spooled copy, no temporary file, no second parse by Django.
A booth sends its text fields before the photo, so the ingest password can be checked before
the photo is read. The photo's SHA-256, and the digest its `hash` field names, are computed in
the same pass in worker threads while the body arrives, and so is the validation decode of a
JPEG (media.images.JpegCheck): the pipeline reuses the digests and the validated photo.

The part named by `file_field` is the file whatever its filename says (a booth on a Russian
Windows sends cp1251 bytes there; RFC 5987 clients send only `filename*=`): filenames are never
used. Text fields are UTF-8, or else cp1251, the ANSI code page of the booths' Windows.
"""

import asyncio
import hashlib
import threading
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import multipart
from asgiref.sync import sync_to_async
from django.http import HttpRequest

from ingest.errors import IngestError
from ingest.models import JobHistory
from media.images import PREVIEW_MIN_SIDE, EncodedImage, JpegCheck, normalise_checked_jpeg

# Where the ASGI layer leaves the form it read (the scope is shared with Django's request).
UPLOAD_SCOPE_KEY = "photochanger.upload"
# As many parts as Django's own form parsing takes (DATA_UPLOAD_MAX_NUMBER_FIELDS).
MAX_PARTS = 200
MAX_FIELD_BYTES = 64 * 1024
# The photo's chunks are hashed and decoded in batches: a hand-over per batch, not per chunk.
_BATCH_BYTES = 256 * 1024
_HASH_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}
# Two threads (hashlib and libjpeg release the GIL) work through the uploads' batches, each
# upload's batches in order.
_workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="upload-check")


@dataclass(frozen=True)
class FileDigests:
    """Hex digests of an uploaded file: SHA-256 always, plus the booth's `hash` algorithm."""

    hexdigests: Mapping[str, str]

    @classmethod
    def of(cls, data: bytes, claimed: str | None = None) -> "FileDigests":
        """Digests of bytes already whole (CPU-bound: call it in a thread)."""
        names = {"sha256", _algorithm(claimed) or "sha256"}
        return cls({name: hashlib.new(name, data).hexdigest() for name in names})

    @property
    def sha256(self) -> str:
        return self.hexdigests["sha256"]

    def hash_check(self, claimed: str) -> str:
        """Whether the booth's `hash` (hex MD5, SHA-1 or SHA-256, by length) is the file's."""
        algorithm = _algorithm(claimed)
        if algorithm is None or algorithm not in self.hexdigests:
            return JobHistory.HashCheck.UNRECOGNISED
        if self.hexdigests[algorithm] == claimed.strip().lower():
            return JobHistory.HashCheck.MATCH
        return JobHistory.HashCheck.MISMATCH


def _algorithm(claimed: str | None) -> str | None:
    claimed = (claimed or "").strip().lower()
    if any(c not in "0123456789abcdef" for c in claimed):
        return None
    return _HASH_BY_LENGTH.get(len(claimed))


@dataclass
class UploadForm:
    fields: dict[str, str]
    file_data: bytes = field(repr=False)
    digests: FileDigests
    # The photo made safe (as media.images.normalise_upload would), when the JPEG it is could be
    # validated while it arrived; None leaves that work to the pipeline.
    photo: EncodedImage | None = field(default=None, repr=False)
    # Set by the ASGI layer once the ingest password in `fields` was accepted.
    authenticated: bool = False

    def take_file(self) -> bytes:
        """The file's bytes (already made safe when `photo` is set), handed over once: the form
        stops holding them, so one copy of the photo goes on."""
        data, self.file_data = self.file_data, b""
        return data

    def take_photo(self) -> EncodedImage | None:
        photo, self.photo = self.photo, None
        return photo


class FormReader:
    """A multipart/form-data body, fed chunk by chunk; IngestError for anything malformed."""

    def __init__(
        self,
        content_type: str,
        *,
        file_field: str,
        max_body_bytes: int,
        max_file_bytes: int | None = None,
        decode_side: int = PREVIEW_MIN_SIDE,
    ) -> None:
        """`decode_side`: the long side the photo's validation decode keeps (JpegCheck)."""
        kind, options = multipart.parse_options_header(content_type or "")
        if kind != "multipart/form-data" or not options.get("boundary"):
            raise IngestError("bad_request", "the body must be multipart/form-data")
        try:
            self._parser = multipart.PushMultipartParser(
                options["boundary"],
                max_segment_count=MAX_PARTS,
                # Every byte decodes in Latin-1, so odd filename bytes never fail a part: names
                # are ASCII, and filenames are never used.
                header_charset="latin1",
                # Strict mode refuses the CRLF clients send after the closing boundary whenever
                # it arrives in a later read than the boundary; the limits above still hold.
                strict=False,
            )
        except multipart.MultipartError as error:
            raise IngestError("bad_request", f"malformed multipart body: {error}") from None
        self._file_field, self._max_body_bytes = file_field, max_body_bytes
        self._max_file_bytes = max_file_bytes if max_file_bytes is not None else max_body_bytes
        self._body_bytes = 0
        self.fields: dict[str, str] = {}
        self._seen: set[str] = set()
        self._part: multipart.MultipartSegment | None = None
        self._buffer: list[bytes] = []
        self._file: list[bytes] | None = None
        self._file_size = 0
        self._file_complete = False
        self._digest = _StreamDigest(decode_side)

    @property
    def file_complete(self) -> bool:
        """Whether the whole file part has been read (fields after it arrive with it in memory)."""
        return self._file_complete

    def feed(self, chunk: bytes) -> None:
        """Parse the next chunk of the body; an empty chunk ends it."""
        self._body_bytes += len(chunk)
        if self._body_bytes > self._max_body_bytes:
            self.discard()
            raise IngestError("payload_too_large", "the body is over the limit")
        try:
            for event in self._parser.parse(chunk):
                self._on_event(event)
        except multipart.MultipartError as error:
            self.discard()
            raise IngestError("bad_request", f"malformed multipart body: {error}") from None

    async def finish(self, *, required: tuple[str, ...] = ()) -> UploadForm:
        """The whole form, once the body has ended; the reader keeps nothing after it."""
        if not self._parser.closed:
            self.feed(b"")
        missing = [name for name in required if not self.fields.get(name)]
        if not self._file_size:
            missing.append(self._file_field)
        if missing:
            self.discard()
            raise IngestError("missing_field", f"missing or empty: {', '.join(missing)}")
        chunks, self._file = self._file or [], None
        # A photo over the limit is left to the pipeline, which refuses it with a job on record.
        check = self._file_size <= self._max_file_bytes
        received = await self._digest.finish(chunks, self.fields.get("hash"), check)
        return UploadForm(
            fields=self.fields,
            file_data=received.data,
            digests=received.digests,
            photo=received.photo,
        )

    def discard(self) -> None:
        """Drop what was read of the file (a refused upload holds no memory)."""
        self._file, self._buffer = None, []
        self._digest.cancel()

    def _on_event(self, event) -> None:
        if isinstance(event, multipart.MultipartSegment):
            self._start_part(event)
        elif event is None:
            self._end_part()
        elif self._part is not None and self._part.name == self._file_field:
            self._on_file_data(event)
        elif self._part is not None and self._part.filename is None:
            self._buffer.append(event)
            if self._part.bytes_received > MAX_FIELD_BYTES:
                raise multipart.ParserLimitReached(f"field {self._part.name!r} is too long")

    def _start_part(self, part: multipart.MultipartSegment) -> None:
        name = part.name or ""
        if name in self._seen:
            raise multipart.ParserError(f"field {name!r} appears more than once")
        self._seen.add(name)
        self._part, self._buffer = part, []
        if name == self._file_field:
            self._file = []
            self._digest.start(self.fields.get("hash"))

    def _end_part(self) -> None:
        part, self._part = self._part, None
        if part is not None and part.name == self._file_field:
            self._file_complete = True
        elif part is not None and part.filename is None:
            self.fields[part.name] = decode_text(b"".join(self._buffer))
        self._buffer = []

    def _on_file_data(self, data: bytes) -> None:
        self._file_size += len(data)
        assert self._file is not None
        self._file.append(data)
        self._digest.feed(data)


def decode_text(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode("cp1251", errors="replace")


class _StreamDigest:
    """The photo's digests and its validation decode, worked out in batches as it arrives."""

    def __init__(self, decode_side: int) -> None:
        self._hashers: dict[str, hashlib._Hash] = {}
        self._decode_side = decode_side
        self._check = JpegCheck(decode_side)
        self._lane = _Lane()
        self._batch: list[bytes] = []
        self._batch_bytes = 0

    def start(self, claimed: str | None) -> None:
        names = {"sha256", _algorithm(claimed) or "sha256"}
        self._hashers = {name: hashlib.new(name) for name in names}

    def feed(self, data: bytes) -> None:
        self._batch.append(data)
        self._batch_bytes += len(data)
        if self._batch_bytes >= _BATCH_BYTES:
            self._lane.submit(_update, self._hashers, self._check, self._batch)
            self._batch, self._batch_bytes = [], 0

    async def finish(self, chunks: list[bytes], claimed: str | None, check: bool) -> "_Received":
        batch, self._batch = self._batch, []
        done = self._lane.submit(
            _complete, self._hashers, self._check, batch, chunks, claimed, check
        )
        return await asyncio.wrap_future(done)

    def cancel(self) -> None:
        self._batch, self._hashers, self._check = [], {}, JpegCheck(self._decode_side)


class _Lane:
    """Work run in order on the shared worker threads: one batch of an upload at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[tuple[Future, Callable, tuple]] = deque()
        self._running = False

    def submit(self, function: Callable, *args) -> Future:
        future: Future = Future()
        with self._lock:
            self._queue.append((future, function, args))
            if self._running:
                return future
            self._running = True
        _workers.submit(self._drain)
        return future

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._running = False
                    return
                future, function, args = self._queue.popleft()
            try:
                future.set_result(function(*args))
            except BaseException as error:  # handed to whoever waits on it
                future.set_exception(error)


@dataclass(frozen=True)
class _Received:
    data: bytes  # the photo as uploaded, or as made safe when `photo` is set
    digests: FileDigests
    photo: EncodedImage | None


def _update(hashers: Mapping[str, "hashlib._Hash"], check: JpegCheck, batch: list[bytes]) -> None:
    for data in batch:
        for hasher in hashers.values():
            hasher.update(data)
        check.feed(data)


def _complete(
    hashers: dict[str, "hashlib._Hash"],
    check: JpegCheck,
    batch: list[bytes],
    chunks: list[bytes],
    claimed: str | None,
    vouch: bool,
) -> _Received:
    _update(hashers, check, batch)
    hexdigests = {name: hasher.hexdigest() for name, hasher in hashers.items()}
    late = _algorithm(claimed)  # a `hash` field sent after the file: one more pass, rare
    if late and late not in hexdigests:
        late_hasher = hashlib.new(late)
        for chunk in chunks:
            late_hasher.update(chunk)
        hexdigests[late] = late_hasher.hexdigest()
    # Made safe straight from the chunks; only a photo the check could not vouch for is joined
    # as uploaded. Either way one copy of the photo goes on.
    photo = normalise_checked_jpeg(chunks, check) if vouch else None
    data = photo.data if photo else b"".join(chunks)
    chunks.clear()
    return _Received(data, FileDigests(hexdigests), photo)


async def read_upload_form(
    request: HttpRequest,
    *,
    file_field: str,
    max_body_bytes: int,
    max_file_bytes: int,
    decode_side: int,
    required: tuple[str, ...] = (),
) -> UploadForm:
    """The form the ASGI layer read for this request, or (without that layer, as under Django's
    test client) the same reading of the request's body, off the event loop."""
    received = getattr(request, "scope", {}).get(UPLOAD_SCOPE_KEY)
    if isinstance(received, IngestError):  # the ASGI layer found the form malformed
        raise received
    if received is not None:
        return received
    reader = FormReader(
        request.META.get("CONTENT_TYPE", ""),
        file_field=file_field,
        max_body_bytes=max_body_bytes,
        max_file_bytes=max_file_bytes,
        decode_side=decode_side,
    )
    await sync_to_async(_feed_body, thread_sensitive=False)(reader, request)
    return await reader.finish(required=required)


def _feed_body(reader: FormReader, request: HttpRequest) -> None:
    reader.feed(request.body)


async def keep_body(request: HttpRequest) -> None:
    """Keep the raw body readable after Django parses it as a form (the CSRF check does).

    Only without the ASGI layer, which has consumed the body and left Django none to parse.
    """
    if UPLOAD_SCOPE_KEY not in getattr(request, "scope", {}):
        await sync_to_async(lambda: request.body, thread_sensitive=False)()
