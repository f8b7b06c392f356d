"""Reading the multipart form of an upload, off the event loop."""

from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError

from ingest.errors import IngestError


@dataclass(frozen=True)
class UploadForm:
    fields: dict[str, str]
    file_data: bytes = field(repr=False)


async def read_upload_form(
    request: HttpRequest, *, file_field: str, required: tuple[str, ...] = ()
) -> UploadForm:
    """Parse the form in a worker thread: parsing a 20 MB body takes tens of milliseconds."""
    if not request.content_type.startswith("multipart/form-data"):
        raise IngestError("bad_request", "the body must be multipart/form-data")
    return await sync_to_async(_parse, thread_sensitive=False)(request, file_field, required)


def _parse(request: HttpRequest, file_field: str, required: tuple[str, ...]) -> UploadForm:
    try:
        fields = {key: request.POST.get(key, "") for key in request.POST}
        upload = request.FILES.get(file_field)
    except RequestDataTooBig:
        raise IngestError("payload_too_large", "the form is too large") from None
    except (MultiPartParserError, SuspiciousOperation, BadRequest, UnicodeDecodeError) as error:
        raise IngestError("bad_request", f"malformed multipart body: {error}") from None
    missing = [name for name in required if not fields.get(name)]
    if upload is None or upload.size == 0:
        missing.append(file_field)
    if missing:
        raise IngestError("missing_field", f"missing or empty: {', '.join(missing)}")
    with upload:
        return UploadForm(fields=fields, file_data=upload.read())
