from django.db import migrations

# A null value means "use the default from the environment" (photochanger.runtime).
KEYS = [
    "sync_response_seconds",
    "result_ttl_hours",
    "max_upload_mb",
    "per_slot_concurrency",
    "per_provider_concurrency",
    "hash_check",
    "ingest_password_hash",
    "gemini_api_key",
    "turbotext_api_key",
]


def create_settings(apps, schema_editor):
    RuntimeSetting = apps.get_model("photochanger", "RuntimeSetting")
    for key in KEYS:
        RuntimeSetting.objects.get_or_create(key=key, defaults={"value": None})


class Migration(migrations.Migration):
    dependencies = [("photochanger", "0001_initial")]

    operations = [migrations.RunPython(create_settings, migrations.RunPython.noop)]
