from datetime import datetime, timedelta

import factory
from django.utils import timezone
from PIL import Image

from ingest.models import JobHistory
from media.images import JPEG, WEBP, encode
from media.models import MediaObject
from media.services import record_files, result_folder, write_file
from slots.tests.factories import SlotFactory


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JobHistory

    slot = factory.SubFactory(SlotFactory)
    slot_version = factory.LazyAttribute(lambda o: o.slot.version)
    source = JobHistory.Source.INGEST
    provider = factory.LazyAttribute(lambda o: o.slot.provider)
    started_at = factory.LazyFunction(timezone.now)
    deadline_at = factory.LazyAttribute(lambda o: o.started_at + timedelta(seconds=48))
    input_sha256 = factory.Sequence(lambda n: f"{n:064x}")


def store_result(
    job: JobHistory, image: Image.Image, *, preview_side: int, expires_at: datetime | None = None
) -> None:
    """The job's result and its preview, stored and recorded as the pipeline leaves them."""
    preview = image.copy()
    preview.thumbnail((preview_side, preview_side))
    folder = result_folder(job.slot_id, job.job_id)
    payload, small = encode(image, JPEG), encode(preview, WEBP)
    files = [
        write_file(f"{folder}/payload.jpg", MediaObject.Kind.RESULT, payload.data, payload.mime),
        write_file(f"{folder}/preview.webp", MediaObject.Kind.PREVIEW, small.data, small.mime),
    ]
    record_files(
        files=files,
        slot_id=job.slot_id,
        job_id=job.job_id,
        expires_at=expires_at or job.result_expires_at,
    )
