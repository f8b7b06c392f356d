"""The booth's endpoint, the staff test run, and the public links to jobs and results."""

import time
import uuid

from asgiref.sync import sync_to_async
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from core import metrics
from core.auth import astaff_only, client_ip
from core.db import release_db_connections
from core.errors import error_response
from core.links import provider_media_base, public_url, site_url
from core.timezones import in_zone
from ingest import results
from ingest.calls import decode_side
from ingest.errors import IngestError
from ingest.forms import keep_body, read_upload_form
from ingest.jobs import IngestResult
from ingest.models import JobHistory
from ingest.passwords import authenticate_ingest
from ingest.pipeline import process_photo
from ingest.requests import body_limit, upload_context
from ingest.selectors import gallery_jobs
from media.images import EXTENSIONS, MB
from media.models import MediaObject
from media.services import StorageUnavailable, open_stream
from slots.models import Slot

# Text fields a booth sends that are not kept in job metadata.
_NOT_METADATA = {"password"}


@csrf_exempt
@require_POST
async def ingest(request: HttpRequest, slot_id: str) -> HttpResponse:
    """DSLR Remote Pro's "HTTP POST post-processing" target (DESIGN.md §3).

    In production the ASGI layer (ingest.asgi) has already read the form and checked the
    password; this view then finds both in the request's scope.
    """
    started, provider = time.monotonic(), ""
    response: HttpResponse
    try:
        slot, config = await upload_context(request, slot_id)
        provider = slot.provider
        form = await read_upload_form(
            request,
            file_field="fileToUpload",
            max_body_bytes=body_limit(slot, config),
            max_file_bytes=slot.upload_limit_mb(config) * MB,
            decode_side=decode_side(slot),
            required=("password", "hash"),
        )
        if not form.authenticated:
            await release_db_connections()  # a password check may queue behind a slow hash
            await authenticate_ingest(
                form.fields["password"],
                stored_hash=config.ingest_password_hash,
                address=client_ip(request),
                slot_id=slot.pk,
            )
        result = await process_photo(
            slot=slot,
            data=form.take_file(),
            digests=form.digests,
            normalised=form.take_photo(),
            source=JobHistory.Source.INGEST,
            config=config,
            claimed_hash=form.fields["hash"],
            metadata={k: v for k, v in form.fields.items() if k not in _NOT_METADATA},
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            public_base_url=provider_media_base(request),
            site_url=site_url(request),
        )
    except IngestError as error:
        response, outcome = error.response(), _outcome(error)
    else:
        response, outcome = image_response(request, result), JobHistory.Status.DONE
    metrics.observe_ingest(
        slot_id=slot_id,
        provider=provider,
        outcome=outcome,
        status_code=response.status_code,
        seconds=time.monotonic() - started,
    )
    return response


def _outcome(error: IngestError) -> str:
    if error.job_id is None:
        return "rejected"
    return JobHistory.Status.TIMEOUT if error.reason == "timeout" else JobHistory.Status.FAILED


@csrf_exempt
@require_POST
async def test_run(request: HttpRequest, slot_id: str) -> HttpResponse:
    """The staff UI's «Протестировать конфигурацию»: the ingest pipeline without the password."""
    await keep_body(request)  # the CSRF check below may parse the body as a form
    denied = await astaff_only(request)
    if denied is not None:
        return denied
    try:
        slot, config = await upload_context(request, slot_id)
        form = await read_upload_form(
            request,
            file_field="test_image",
            max_body_bytes=body_limit(slot, config),
            max_file_bytes=slot.upload_limit_mb(config) * MB,
            decode_side=decode_side(slot),
        )
        result = await process_photo(
            slot=slot,
            data=form.take_file(),
            digests=form.digests,
            normalised=form.take_photo(),
            source=JobHistory.Source.UI_TEST,
            config=config,
            metadata={"requested_by": request.user.get_username()},
            public_base_url=provider_media_base(request),
            site_url=site_url(request),
        )
    except IngestError as error:
        return error.response()
    return image_response(request, result)


@require_GET
async def job_status(request: HttpRequest, job_id: str) -> JsonResponse:
    job = await sync_to_async(results.visible_job)(job_id)
    if job is None:
        return error_response(404, "job_not_found", "no such job, or it is past its TTL")
    return JsonResponse(
        {
            "job_id": str(job.job_id),
            "slot_id": job.slot_id,
            "status": job.status,
            "failure_reason": job.failure_reason or None,
            "started_at": in_zone(job.started_at),
            "finished_at": in_zone(job.finished_at),
            "duration_ms": job.duration_ms,
            "result_url": result_url(request, job.job_id) if job.result_is_live() else None,
            "result_expires_at": in_zone(job.result_expires_at),
            "warnings": list(job.warnings or []),
        }
    )


@require_GET
async def public_result(request: HttpRequest, job_id: str) -> HttpResponseBase:
    return await _serve_result_file(job_id, preview=False)


@require_GET
async def public_preview(request: HttpRequest, job_id: str) -> HttpResponseBase:
    return await _serve_result_file(job_id, preview=True)


async def _serve_result_file(job_id: str, *, preview: bool) -> HttpResponseBase:
    try:
        if preview:
            found = await results.preview_media(job_id)
        else:
            found = await sync_to_async(results.result_media)(job_id, preview=False)
    except StorageUnavailable:
        return error_response(503, "storage_unavailable", "the media storage is unavailable")
    if found is results.EXPIRED:
        return error_response(410, "result_expired", "the result has expired and was deleted")
    if not isinstance(found, MediaObject):
        return error_response(404, "result_not_found", "no result for this job")
    filename = f"{job_id}{'-preview' if preview else ''}.{EXTENSIONS[found.mime]}"
    disposition = "inline" if preview else "attachment"
    return await _file_response(
        found,
        "result_not_found",
        **{
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            "Cache-Control": "private, max-age=300",
        },
    )


@require_GET
async def provider_media(request: HttpRequest, media_id: str) -> HttpResponseBase:
    """An input published for a provider that downloads it; gone after the job's deadline."""
    found = await sync_to_async(results.provider_input)(media_id)
    if found is results.EXPIRED:
        return error_response(410, "media_expired", "this link was valid until the job's deadline")
    if not isinstance(found, MediaObject):
        return error_response(404, "media_not_found", "no such media")
    return await _file_response(found, "media_not_found", **{"Cache-Control": "no-store"})


async def _file_response(media: MediaObject, missing: str, **headers: str) -> HttpResponseBase:
    """Stream the file from storage in chunks; an instance never holds a whole 15 MB result.

    Streamed rather than redirected to a presigned bucket URL: each request checks the expiry
    (410 after it), the bucket need not be reachable from guests or providers, and the links
    stay on PhotoChanger's own host behind its load balancer.
    """
    try:
        stream = await open_stream(media.path)
    except StorageUnavailable:
        return error_response(503, "storage_unavailable", "the media storage is unavailable")
    except FileNotFoundError:
        return error_response(404, missing, "the file is missing from storage")
    response = StreamingHttpResponse(stream, content_type=media.mime, headers=headers)
    response["Content-Length"] = str(media.size_bytes)
    return response


def gallery(request: HttpRequest, slot_id: str) -> HttpResponse:
    """Public: the slot's latest results within their TTL, only with the slot's gallery key.

    Photos of people must not be enumerable: without the key (`?k=`) the gallery does not
    exist (404), unless staff opened it to everyone.
    """
    slot = Slot.objects.filter(pk=slot_id).first()
    if slot is None or not slot.gallery_opens_with(request.GET.get("k", "")):
        raise Http404("no such gallery")
    response = render(
        request, "ingest/gallery.html", {"slot": slot, "jobs": gallery_jobs(slot_id=slot.pk)}
    )
    response["Referrer-Policy"] = "no-referrer"  # the key must not leak to other sites
    return response


def guest_page(request: HttpRequest, code: str) -> HttpResponse:
    """The page a guest reaches from the QR code on the print: the photo and its download."""
    job = results.guest_result(code)
    if job is results.EXPIRED:
        return render(request, "ingest/guest_expired.html", status=410)
    if not isinstance(job, JobHistory):
        raise Http404("no such photo")
    context = {
        "job": job,
        "download_url": reverse("public-result", args=[job.job_id]),
        "preview_url": reverse("public-preview", args=[job.job_id]),
    }
    response = render(request, "ingest/guest.html", context)
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response


def image_response(request: HttpRequest, result: IngestResult) -> HttpResponse:
    response = HttpResponse(result.data, content_type=result.mime)
    response["Content-Length"] = str(len(result.data))
    response["Cache-Control"] = "no-store"
    response["X-Job-Id"] = str(result.job_id)
    response["X-Result-Url"] = result_url(request, result.job_id)
    return response


def result_url(request: HttpRequest, job_id: uuid.UUID) -> str:
    return public_url(request, reverse("public-result", args=[job_id]))
