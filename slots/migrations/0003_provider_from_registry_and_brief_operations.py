from django.db import migrations, models

# The brief's operation ids replace the vendor method names slots stored before.
RENAMED = {
    ("gemini", "edit"): "image_edit",
    ("turbotext", "mix_images"): "style_transfer",
    ("turbotext", "generate_image2image"): "image_edit",
    ("turbotext", "deepfake_photo"): "identity_transfer",
}


def rename_operations(apps, schema_editor):
    Slot = apps.get_model("slots", "Slot")
    for (provider, old), new in RENAMED.items():
        Slot.objects.filter(provider=provider, operation=old).update(operation=new)


def restore_operations(apps, schema_editor):
    Slot = apps.get_model("slots", "Slot")
    for (provider, old), new in RENAMED.items():
        Slot.objects.filter(provider=provider, operation=new).update(operation=old)


class Migration(migrations.Migration):
    dependencies = [("slots", "0002_create_fixed_slots")]

    operations = [
        # Providers come from the registry (checked in Slot.clean), so adding one needs no
        # migration.
        migrations.AlterField(
            model_name="slot",
            name="provider",
            field=models.CharField(max_length=16, verbose_name="провайдер"),
        ),
        migrations.RunPython(rename_operations, restore_operations),
    ]
