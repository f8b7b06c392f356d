import hashlib

import pytest
from asgiref.sync import async_to_sync

from ingest.errors import IngestError
from ingest.forms import FormReader
from ingest.tests.conftest import BOUNDARY, MULTIPART, booth_body, form_part, jpeg_bytes
from media import images

END = b"--" + BOUNDARY.encode() + b"--\r\n"
PHOTO = jpeg_bytes(size=(640, 480))
# What DSLR Remote Pro puts in `hash` is 40 hex digits: SHA-1, not a security choice of ours.
PHOTO_SHA1 = hashlib.new("sha1", PHOTO).hexdigest()  # noqa: S324


def reader(limit=10 * 1024 * 1024) -> FormReader:
    return FormReader(MULTIPART["Content-Type"], file_field="fileToUpload", max_body_bytes=limit)


def read(body: bytes, chunk: int):
    form_reader = reader()
    for offset in range(0, len(body), chunk):
        form_reader.feed(body[offset : offset + chunk])
    return async_to_sync(form_reader.finish)(required=("password", "hash"))


@pytest.mark.parametrize("chunk", [1, 2, 7, 4096, 10**9])
def test_a_form_reads_the_same_however_its_body_is_cut(chunk):
    form = read(booth_body(PHOTO, hash_=PHOTO_SHA1), chunk)

    assert form.fields["password"] == "booth-secret" and form.fields["user_id"] == "Acer"
    assert form.file_data == PHOTO
    assert form.digests.sha256 == hashlib.sha256(PHOTO).hexdigest()
    assert form.digests.hash_check(PHOTO_SHA1) == "match"


def test_the_photo_is_made_safe_while_it_arrives_as_normalise_upload_would():
    big = jpeg_bytes(size=(3000, 2000))
    form = read(booth_body(big), 64 * 1024)
    assert form.photo == images.normalise_upload(big)


@pytest.mark.parametrize(
    ("claimed", "outcome"),
    [
        (hashlib.md5(PHOTO).hexdigest(), "match"),  # noqa: S324  (what a booth may send)
        (hashlib.sha256(PHOTO).hexdigest().upper(), "match"),
        ("0" * 40, "mismatch"),
        ("not-a-digest", "unrecognised"),
    ],
)
def test_the_booths_hash_is_checked_by_its_length(claimed, outcome):
    assert read(booth_body(PHOTO, hash_=claimed), 4096).digests.hash_check(claimed) == outcome


def test_a_hash_sent_after_the_photo_is_still_checked():
    claimed = hashlib.md5(PHOTO).hexdigest()  # noqa: S324
    body = (
        form_part("password", "booth-secret")
        + form_part("fileToUpload", PHOTO, filename="a.jpg")
        + form_part("hash", claimed)
        + END
    )
    assert read(body, 4096).digests.hash_check(claimed) == "match"


def test_the_photo_is_complete_only_once_its_part_ends():
    body = booth_body(PHOTO)
    start_of_photo = body.index(b"\xff\xd8") + 100
    form_reader = reader()

    form_reader.feed(body[:start_of_photo])  # the fields and the photo's first bytes at once
    assert form_reader.fields["password"] == "booth-secret"
    assert not form_reader.file_complete

    form_reader.feed(body[start_of_photo:])
    assert form_reader.file_complete


def test_a_body_over_the_limit_is_refused_as_it_arrives():
    form_reader = reader(limit=1000)
    with pytest.raises(IngestError) as refused:
        form_reader.feed(booth_body(PHOTO))
    assert refused.value.reason == "payload_too_large"


def test_once_made_safe_only_the_safe_photo_goes_on():
    big = jpeg_bytes(size=(3000, 2000))
    form = read(booth_body(big), 64 * 1024)
    assert form.take_file() is form.photo.data


def test_a_photo_over_the_file_limit_is_left_to_the_pipeline_as_uploaded():
    big = jpeg_bytes(size=(3000, 2000))
    form_reader = FormReader(
        MULTIPART["Content-Type"],
        file_field="fileToUpload",
        max_body_bytes=10 * 1024 * 1024,
        max_file_bytes=len(big) - 1,
    )
    form_reader.feed(booth_body(big))
    form = async_to_sync(form_reader.finish)()
    assert form.photo is None and form.file_data == big
