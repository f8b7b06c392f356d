from django.db import migrations


def create_slots(apps, schema_editor):
    Slot = apps.get_model("slots", "Slot")
    for number in range(1, 16):
        Slot.objects.get_or_create(
            id=f"slot-{number:03d}",
            defaults={
                "display_name": f"Слот {number}",
                "provider": "local",
                "operation": "filter",
                "settings_json": {"filter": "sepia"},
            },
        )


class Migration(migrations.Migration):
    dependencies = [("slots", "0001_initial")]

    operations = [migrations.RunPython(create_slots, migrations.RunPython.noop)]
