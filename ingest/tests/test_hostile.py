"""Malformed and hostile booth uploads and staff test runs, through the whole ASGI application.

Every refused request gets its JSON failure_reason, leaves no file behind and no job running;
odd but valid photos are accepted. None of them is a 500.
"""

import io
import struct
import zlib

import pytest
from PIL import Image
from rest_framework_simplejwt.tokens import RefreshToken

from core.runtime import set_runtime_setting
from ingest.models import JobHistory
from ingest.passwords import FAILURE_LIMIT
from ingest.tests.conftest import (
    BOUNDARY,
    MULTIPART,
    asgi_request,
    booth_body,
    form_part,
    jpeg_bytes,
    stored_files,
)
from slots.tests.factories import SlotFactory

pytestmark = pytest.mark.django_db
URL = "/api/ingest/slot-001"
END = b"--" + BOUNDARY.encode() + b"--\r\n"


def saved(image: Image.Image, form: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, form, **options)
    return out.getvalue()


def png_16bit_rgb(width=20, height=20) -> bytes:
    rows = b"".join(b"\0" + b"\x12\x34" * 3 * width for _ in range(height))

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def animation(form: str) -> bytes:
    frames = [Image.new("RGB", (40, 30), (i * 80, 20, 20)) for i in range(3)]
    return saved(frames[0], form, save_all=True, append_images=frames[1:])


def png_bomb() -> bytes:
    return saved(Image.new("1", (20_000, 20_000)), "PNG")


def without(field: str) -> bytes:
    parts = [
        form_part(name, value)
        for name, value in {"hash": "0" * 40, "password": "booth-secret"}.items()
        if name != field
    ]
    if field != "fileToUpload":
        parts.append(form_part("fileToUpload", jpeg_bytes(), filename="a.jpg"))
    return b"".join(parts) + END


def twice(field: str) -> bytes:
    body = booth_body(jpeg_bytes())
    extra = (
        form_part(field, jpeg_bytes(), filename="b.jpg")
        if field == "fileToUpload"
        else form_part(field, "booth-secret")
    )
    return body[: -len(END)] + extra + END


PHOTO = jpeg_bytes()

# id: (path, body, extra headers) -> refused with (status, failure_reason)
REFUSED = {
    "unknown-slot": ("/api/ingest/slot-999", booth_body(PHOTO), {}, 404, "slot_not_found"),
    # Control characters in a path are refused by the outermost layer, before any lookup.
    "nul-in-slot-id": ("/api/ingest/slot-001\x00", booth_body(PHOTO), {}, 400, "bad_request"),
    "control-chars-in-slot-id": (
        "/api/ingest/slot\x01\x1f001",
        booth_body(PHOTO),
        {},
        400,
        "bad_request",
    ),
    "path-traversal-slot-id": (
        "/api/ingest/../../etc/passwd",
        booth_body(PHOTO),
        {},
        404,
        "slot_not_found",
    ),
    "very-long-slot-id": ("/api/ingest/" + "s" * 300, booth_body(PHOTO), {}, 404, "slot_not_found"),
    "upper-case-slot-id": ("/ingest/SLOT-001", booth_body(PHOTO), {}, 404, "slot_not_found"),
    "json-instead-of-a-form": (
        URL,
        b'{"password": "booth-secret"}',
        {"Content-Type": "application/json"},
        400,
        "bad_request",
    ),
    "multipart-without-boundary": (
        URL,
        booth_body(PHOTO),
        {"Content-Type": "multipart/form-data"},
        400,
        "bad_request",
    ),
    "no-content-type": (URL, booth_body(PHOTO), {"Content-Type": ""}, 400, "bad_request"),
    "empty-body": (URL, b"", {}, 400, "bad_request"),
    "random-bytes": (URL, bytes(range(256)) * 40, {}, 400, "bad_request"),
    "cut-off-before-the-end": (URL, booth_body(PHOTO)[:-200], {}, 400, "bad_request"),
    "lf-line-endings": (
        URL,
        booth_body(PHOTO).replace(b"\r\n", b"\n"),
        {},
        400,
        "bad_request",
    ),
    "part-without-disposition": (
        URL,
        b"--" + BOUNDARY.encode() + b"\r\nContent-Type: text/plain\r\n\r\nx\r\n" + END,
        {},
        400,
        "bad_request",
    ),
    "header-line-over-4kb": (
        URL,
        form_part("hash", "0" * 40, disposition_extra=b"; x=" + b"a" * 5000) + END,
        {},
        400,
        "bad_request",
    ),
    "boundary-of-2000-chars": (
        URL,
        booth_body(PHOTO),
        {"Content-Type": "multipart/form-data; boundary=" + "b" * 2000},
        400,
        "bad_request",
    ),
    "two-hundred-and-one-parts": (
        URL,
        b"".join(form_part(f"f{i}", "x") for i in range(201)) + END,
        {},
        400,
        "bad_request",
    ),
    "text-field-over-64kb": (
        URL,
        booth_body(PHOTO, profile="x" * 70_000),
        {},
        400,
        "bad_request",
    ),
    "part-length-header-lies": (
        URL,
        b"--"
        + BOUNDARY.encode()
        + b'\r\nContent-Disposition: form-data; name="hash"\r\nContent-Length: 99\r\n\r\nab\r\n'
        + END,
        {},
        400,
        "bad_request",
    ),
    "password-twice": (URL, twice("password"), {}, 400, "bad_request"),
    "photo-twice": (URL, twice("fileToUpload"), {}, 400, "bad_request"),
    "no-password": (URL, without("password"), {}, 400, "missing_field"),
    "no-hash": (URL, without("hash"), {}, 400, "missing_field"),
    "no-photo": (URL, without("fileToUpload"), {}, 400, "missing_field"),
    "empty-photo": (URL, booth_body(b""), {}, 400, "missing_field"),
    "wrong-password": (URL, booth_body(PHOTO, password="guess"), {}, 401, "invalid_password"),
    "nul-in-password": (
        URL,
        booth_body(PHOTO, password="booth\x00secret"),
        {},
        401,
        "invalid_password",
    ),
    "cp1251-password-bytes": (
        URL,
        booth_body(PHOTO)[: -len(END)].replace(b"booth-secret", "пароль".encode("cp1251")) + END,
        {},
        401,
        "invalid_password",
    ),
    "declared-length-over-the-limit": (
        URL,
        b"",
        {"Content-Length": str(40 * 1024 * 1024), "Expect": "100-continue"},
        413,
        "payload_too_large",
    ),
    "chunked-body-over-the-limit": (
        URL,
        [booth_body(b"\xff\xd8\xff")[: -len(END) - 2]] + [b"\0" * (1024 * 1024)] * 20,
        {"Transfer-Encoding": "chunked"},
        413,
        "payload_too_large",
    ),
    "text-as-jpg": (
        URL,
        booth_body(b"<html>not a photo</html>"),
        {},
        415,
        "unsupported_media_type",
    ),
    "gif": (
        URL,
        booth_body(saved(Image.new("RGB", (8, 8)), "GIF")),
        {},
        415,
        "unsupported_media_type",
    ),
    "jpeg-header-only": (URL, booth_body(b"\xff\xd8\xff\xe0"), {}, 400, "invalid_image"),
    "truncated-jpeg": (URL, booth_body(PHOTO[: len(PHOTO) // 2]), {}, 400, "invalid_image"),
    "truncated-tiny-jpeg": (
        URL,
        booth_body(jpeg_bytes(size=(1, 10_000))[:300]),
        {},
        400,
        "invalid_image",
    ),
    "truncated-webp": (
        URL,
        booth_body(saved(Image.new("RGB", (40, 40)), "WEBP")[:30]),
        {},
        400,
        "invalid_image",
    ),
    "png-decompression-bomb": (URL, booth_body(png_bomb()), {}, 400, "invalid_image"),
    "idempotency-key-with-nul": (
        URL,
        booth_body(PHOTO),
        {"Idempotency-Key": "shot\x00-1"},
        400,
        "bad_request",
    ),
    "idempotency-key-of-200-chars": (
        URL,
        booth_body(PHOTO),
        {"Idempotency-Key": "k" * 200},
        400,
        "bad_request",
    ),
}


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "reason"), REFUSED.values(), ids=REFUSED.keys()
)
def test_hostile_upload_is_refused_cleanly(
    path, body, headers, status, reason, ingest_password, fake_provider, settings
):
    answer = asgi_request(path, body, headers={**MULTIPART, **headers})

    assert answer.status == status, answer.body
    assert answer.json()["failure_reason"] == reason
    assert stored_files(settings.MEDIA_ROOT) == []
    assert not JobHistory.objects.filter(status=JobHistory.Status.PROCESSING).exists()
    assert fake_provider.calls == 0


def test_an_oversize_body_is_refused_before_it_is_read(ingest_password):
    answer = asgi_request(
        URL,
        [b"x" * 65536] * 1000,
        headers={**MULTIPART, "Content-Length": str(65536 * 1000)},
    )
    assert answer.status == 413 and answer.messages_read == 0


def test_a_wrong_password_is_refused_before_the_photo_is_read(ingest_password, fake_provider):
    fields = booth_body(b"", password="guess")[: -len(END)]
    photo_head = form_part("fileToUpload", b"", filename="a.jpg")[:-2]
    chunks = [fields, photo_head, *([b"\xff" * 65536] * 100), b"\r\n" + END]

    answer = asgi_request(URL, chunks, headers=MULTIPART)

    assert (answer.status, answer.json()["failure_reason"]) == (401, "invalid_password")
    assert answer.messages_read < 3
    assert answer.headers["connection"] == "close"


def test_an_address_with_ten_wrong_passwords_is_throttled(ingest_password, fake_provider):
    for _ in range(FAILURE_LIMIT):
        asgi_request(URL, booth_body(PHOTO, password="guess"), headers=MULTIPART, client="10.6.6.6")

    answer = asgi_request(URL, booth_body(PHOTO), headers=MULTIPART, client="10.6.6.6")
    other = asgi_request(URL, booth_body(PHOTO), headers=MULTIPART, client="10.7.7.7")

    assert (answer.status, answer.json()["failure_reason"]) == (429, "throttled")
    assert int(answer.headers["retry-after"]) > 60
    assert other.status == 200


def test_a_trickling_body_gets_408(ingest_password, settings):
    settings.UPLOAD_READ_TIMEOUT_SECONDS = 0.2

    async def never():  # the client sent the fields and then nothing
        import asyncio

        await asyncio.get_running_loop().create_future()

    answer = asgi_request(URL, [b"--" + BOUNDARY.encode() + b"\r\n"], headers=MULTIPART, then=never)

    assert (answer.status, answer.json()["failure_reason"]) == (408, "request_timeout")


def test_enforced_hash_mismatch_ends_the_job_without_files(
    ingest_password, fake_provider, settings
):
    set_runtime_setting(key="hash_check", value="enforce")
    answer = asgi_request(URL, booth_body(PHOTO, hash_="1" * 40), headers=MULTIPART)
    assert (answer.status, answer.json()["failure_reason"]) == (400, "hash_mismatch")
    assert JobHistory.objects.get().status == JobHistory.Status.FAILED
    assert stored_files(settings.MEDIA_ROOT) == []


def test_inactive_slot_is_404_without_reading_the_body(ingest_password):
    SlotFactory(is_active=False)
    answer = asgi_request(URL, [booth_body(PHOTO)] * 3, headers=MULTIPART)
    assert (answer.status, answer.json()["failure_reason"]) == (404, "slot_inactive")
    assert answer.messages_read == 0


# id: (photo, extra booth fields, filename, headers) -> accepted
ACCEPTED = {
    "jpeg-1x1": (jpeg_bytes(size=(1, 1)), {}, "a.jpg", {}),
    "jpeg-7x7": (jpeg_bytes(size=(7, 7)), {}, "a.jpg", {}),
    "jpeg-1x10000": (jpeg_bytes(size=(1, 10_000)), {}, "a.jpg", {}),
    "cmyk-jpeg": (saved(Image.new("CMYK", (30, 20)), "JPEG"), {}, "a.jpg", {}),
    "palette-png": (saved(Image.new("P", (30, 20)), "PNG", transparency=0), {}, "a.png", {}),
    "16-bit-png": (png_16bit_rgb(), {}, "a.png", {}),
    "animated-webp": (animation("WEBP"), {}, "a.webp", {}),
    "animated-png": (animation("PNG"), {}, "a.png", {}),
    "nul-in-a-booth-field": (PHOTO, {"profile": "C:\\Users\\x\x00.xml"}, "a.jpg", {}),
    "control-chars-in-fields": (PHOTO, {"name": "DESK\x01\x07\x1bTOP", "id\x02": "1"}, "a.jpg", {}),
    "cp1251-cyrillic-filename": (PHOTO, {}, "ФОТО_0001.JPG".encode("cp1251"), {}),
    "utf8-cyrillic-filename": (PHOTO, {}, "фото.jpg", {}),
    "nul-in-filename": (PHOTO, {}, b"IMG\x00.JPG", {}),
    "cp1251-windows-path-field": (
        PHOTO,
        {"profile": "C:\\Users\\Сергей\\setup.xml".encode("cp1251")},
        "a.jpg",
        {},
    ),
    "chunked-without-length": (PHOTO, {}, "a.jpg", {"Transfer-Encoding": "chunked"}),
}


@pytest.mark.parametrize(
    ("photo", "fields", "filename", "headers"), ACCEPTED.values(), ids=ACCEPTED.keys()
)
def test_odd_but_valid_upload_is_accepted(
    photo, fields, filename, headers, ingest_password, fake_provider
):
    body = booth_body(photo, filename=filename, **fields)
    chunks = [body[i : i + 1000] for i in range(0, len(body), 1000)]

    answer = asgi_request(URL, chunks, headers={**MULTIPART, **headers})

    assert answer.status == 200, answer.body
    assert answer.headers["content-type"].startswith("image/")
    job = JobHistory.objects.get()
    assert job.status == JobHistory.Status.DONE
    assert all("\x00" not in k + v for k, v in job.metadata.items())


def test_rfc_5987_filename_only_still_carries_the_photo(ingest_password, fake_provider):
    photo_part = (
        b"--"
        + BOUNDARY.encode()
        + b'\r\nContent-Disposition: form-data; name="fileToUpload"; '
        + b"filename*=UTF-8''%D1%84%D0%BE%D1%82%D0%BE.jpg\r\nContent-Type: image/jpeg\r\n\r\n"
        + PHOTO
        + b"\r\n"
    )
    body = form_part("hash", "0" * 40) + form_part("password", "booth-secret") + photo_part + END

    assert asgi_request(URL, body, headers=MULTIPART).status == 200


def test_cyrillic_windows_path_fields_are_kept_readable(ingest_password, fake_provider):
    path = "C:\\Users\\Сергей\\setup.xml"
    asgi_request(URL, booth_body(PHOTO, profile=path.encode("cp1251")), headers=MULTIPART)
    assert JobHistory.objects.get().metadata["profile"] == path


def test_a_password_sent_after_the_photo_is_still_checked(ingest_password, fake_provider):
    body = (
        form_part("hash", "0" * 40)
        + form_part("fileToUpload", PHOTO, filename="a.jpg")
        + form_part("password", "booth-secret")
        + END
    )
    wrong = body.replace(b"booth-secret", b"guess")

    assert asgi_request(URL, body, headers=MULTIPART).status == 200
    assert asgi_request(URL, wrong, headers=MULTIPART, client="10.0.0.2").status == 401


@pytest.fixture
def staff_headers(staff_user):
    token = RefreshToken.for_user(staff_user).access_token
    return {**MULTIPART, "Authorization": f"Bearer {token}"}


def run_body(photo: bytes, *, field="test_image", filename: str | bytes = "t.jpg") -> bytes:
    return form_part(field, photo, filename=filename) + END


TEST_RUN = "/api/slots/slot-001/test-run"

# id: (path, body, extra headers) -> refused with (status, failure_reason)
REFUSED_TEST_RUNS = {
    "unknown-slot": (
        "/api/slots/slot-999/test-run",
        run_body(PHOTO),
        {},
        404,
        "slot_not_found",
    ),
    "nul-in-slot-id": (
        "/api/slots/slot\x00/test-run",
        run_body(PHOTO),
        {},
        400,
        "bad_request",
    ),
    "not-a-form": (TEST_RUN, b"{}", {"Content-Type": "application/json"}, 400, "bad_request"),
    "garbage-body": (TEST_RUN, bytes(range(256)) * 8, {}, 400, "bad_request"),
    "no-photo": (TEST_RUN, form_part("note", "x") + END, {}, 400, "missing_field"),
    "photo-twice": (
        TEST_RUN,
        run_body(PHOTO)[: -len(END)] + run_body(PHOTO),
        {},
        400,
        "bad_request",
    ),
    "declared-over-the-limit": (
        TEST_RUN,
        b"",
        {"Content-Length": str(60 * 1024 * 1024)},
        413,
        "payload_too_large",
    ),
    "chunked-over-the-limit": (
        TEST_RUN,
        [run_body(b"\xff\xd8\xff")[: -len(END) - 2]] + [b"\0" * (1024 * 1024)] * 20,
        {"Transfer-Encoding": "chunked"},
        413,
        "payload_too_large",
    ),
    "text-file": (TEST_RUN, run_body(b"hello"), {}, 415, "unsupported_media_type"),
    "truncated-jpeg": (TEST_RUN, run_body(PHOTO[:200]), {}, 400, "invalid_image"),
}


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "reason"),
    REFUSED_TEST_RUNS.values(),
    ids=REFUSED_TEST_RUNS.keys(),
)
def test_hostile_test_run_is_refused_cleanly(
    path, body, headers, status, reason, staff_headers, fake_provider, settings
):
    answer = asgi_request(path, body, headers={**staff_headers, **headers})

    assert answer.status == status, answer.body
    assert answer.json()["failure_reason"] == reason
    assert stored_files(settings.MEDIA_ROOT) == []
    assert not JobHistory.objects.filter(status=JobHistory.Status.PROCESSING).exists()


def test_a_malformed_test_run_from_a_stranger_is_401_not_400(db, fake_provider):
    answer = asgi_request(TEST_RUN, bytes(range(256)) * 8, headers=MULTIPART)
    assert (answer.status, answer.json()["failure_reason"]) == (401, "not_authenticated")


@pytest.mark.parametrize(
    "photo",
    [jpeg_bytes(size=(1, 1)), png_16bit_rgb(), animation("WEBP")],
    ids=["jpeg-1x1", "16-bit-png", "animated-webp"],
)
def test_odd_but_valid_test_run_photos_are_accepted(photo, staff_headers, fake_provider):
    answer = asgi_request(
        TEST_RUN, run_body(photo, filename="тест.jpg".encode("cp1251")), headers=staff_headers
    )
    assert answer.status == 200, answer.body


def test_session_test_run_passes_csrf_with_its_header_after_the_layer_read_the_body(
    staff_client, fake_provider
):
    staff_client.get("/")  # sets the CSRF cookie
    token = staff_client.cookies["csrftoken"].value
    session = staff_client.cookies["sessionid"].value
    answer = asgi_request(
        TEST_RUN,
        run_body(PHOTO),
        headers={
            **MULTIPART,
            "Cookie": f"csrftoken={token}; sessionid={session}",
            "X-CSRFToken": token,
            "Referer": "http://testserver/slots/slot-001/",
        },
    )
    assert answer.status == 200, answer.body


# id: (method, path, body, headers) -> 413 before Django buffers it
OVERSIZE_ELSEWHERE = {
    "login-api": ("POST", "/api/login", b"", {"Content-Length": str(2 * 1024 * 1024)}),
    "settings-api-chunked": (
        "PUT",
        "/api/settings",
        [b"{" + b" " * 65536] * 40,
        {"Transfer-Encoding": "chunked"},
    ),
    "slot-api": ("PUT", "/api/slots/slot-001", b"", {"Content-Length": str(5 * 1024 * 1024)}),
    "login-page": ("POST", "/login/", b"", {"Content-Length": str(200 * 1024)}),
    "get-with-a-body": ("GET", "/healthz/live", [b"x" * 65536] * 4, {}),
    "public-result": ("POST", "/public/results/x", b"", {"Content-Length": str(1024 * 1024)}),
    "template-upload-over-upload-limit": (
        "POST",
        "/api/template-media/register",
        b"",
        {"Content-Length": str(17 * 1024 * 1024)},
    ),
}


@pytest.mark.parametrize(
    ("method", "path", "body", "headers"),
    OVERSIZE_ELSEWHERE.values(),
    ids=OVERSIZE_ELSEWHERE.keys(),
)
def test_every_route_caps_its_body(method, path, body, headers):
    answer = asgi_request(path, body, method=method, headers=headers)
    assert (answer.status, answer.json()["failure_reason"]) == (413, "payload_too_large")


def test_json_api_bodies_under_the_cap_still_reach_django(staff_user):
    answer = asgi_request(
        "/api/login",
        b'{"username": "serg", "password": "wrong"}',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 401


def test_a_throttled_address_is_refused_before_any_query_or_read(
    ingest_password, django_assert_num_queries
):
    for _ in range(FAILURE_LIMIT):
        asgi_request(URL, booth_body(PHOTO, password="guess"), headers=MULTIPART, client="10.6.6.6")

    with django_assert_num_queries(0):
        answer = asgi_request(URL, [booth_body(PHOTO)] * 3, headers=MULTIPART, client="10.6.6.6")

    assert (answer.status, answer.json()["failure_reason"]) == (429, "throttled")
    assert answer.messages_read == 0


def test_the_view_trusts_the_password_check_the_layer_made(
    ingest_password, fake_provider, monkeypatch
):
    def checked_twice(*args, **kwargs):
        raise AssertionError("the view checked the password again")

    monkeypatch.setattr("ingest.views.authenticate_ingest", checked_twice)
    assert asgi_request(URL, booth_body(PHOTO), headers=MULTIPART).status == 200
