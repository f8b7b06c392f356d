import factory

from slots.models import Slot


class SlotFactory(factory.django.DjangoModelFactory):
    """One of the 15 fixed slots (created by migration), re-configured for a test."""

    class Meta:
        model = Slot

    id = "slot-001"
    display_name = "Тестовый слот"
    provider = "local"
    operation = "filter"
    settings_json = factory.LazyFunction(lambda: {"filter": "sepia"})
    is_active = True
    size_limit_mb = None
    sync_response_seconds = None
    output_format = Slot.OutputFormat.SAME

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        slot, _ = model_class.objects.update_or_create(id=kwargs.pop("id"), defaults=kwargs)
        return slot
