from datetime import timedelta

import factory
from django.utils import timezone

from ingest.models import JobHistory
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
