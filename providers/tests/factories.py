import time
import uuid

import factory

from providers.base import ImageInput, ProviderJob, TemplateImage
from providers.tests.fakes import FakeGemini, jpeg_bytes, png_bytes


class ImageInputFactory(factory.Factory):
    class Meta:
        model = ImageInput

    data = factory.LazyFunction(jpeg_bytes)
    mime = "image/jpeg"
    url = ""


class TemplateImageFactory(factory.Factory):
    class Meta:
        model = TemplateImage

    data = factory.LazyFunction(lambda: png_bytes((320, 240)))
    mime = "image/png"
    url = ""
    role = "style"


class ProviderJobFactory(factory.Factory):
    """A Gemini job by default, with 30 seconds left of its window."""

    class Meta:
        model = ProviderJob

    job_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    slot_id = "slot-001"
    operation = "image_edit"
    settings = factory.LazyFunction(lambda: {"prompt": "Put the guests on a beach at sunset"})
    photo = factory.SubFactory(ImageInputFactory)
    templates = ()
    api_key = FakeGemini.api_key
    deadline = factory.LazyFunction(lambda: time.monotonic() + 30)
