import hashlib
import io

import factory
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from media.models import MediaObject


def make_image_bytes(size=(64, 48), color=(200, 120, 40), fmt="JPEG", **save_options) -> bytes:
    out = io.BytesIO()
    Image.new("RGB" if fmt == "JPEG" else "RGBA", size, color).save(out, fmt, **save_options)
    return out.getvalue()


class MediaObjectFactory(factory.django.DjangoModelFactory):
    """A media row whose file really exists in storage."""

    class Meta:
        model = MediaObject

    kind = MediaObject.Kind.TEMPLATE
    slot_id = "slot-001"
    mime = "image/png"

    class Params:
        content = factory.LazyFunction(lambda: make_image_bytes(fmt="PNG"))

    path = factory.LazyAttributeSequence(
        lambda o, n: default_storage.save(f"templates/{o.slot_id}/t{n}.png", ContentFile(o.content))
    )
    size_bytes = factory.LazyAttribute(lambda o: len(o.content))
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.content).hexdigest())
