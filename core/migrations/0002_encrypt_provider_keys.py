import re

from django.db import migrations

from core.crypto import is_sealed, seal, unseal

_API_KEY = re.compile(r"[a-z][a-z0-9]{0,15}_api_key")


def encrypt(apps, schema_editor):
    RuntimeSetting = apps.get_model("core", "RuntimeSetting")
    for row in RuntimeSetting.objects.all():
        if _API_KEY.fullmatch(row.key) and isinstance(row.value, str) and row.value:
            RuntimeSetting.objects.filter(pk=row.pk).update(value=seal(row.value))


def decrypt(apps, schema_editor):
    RuntimeSetting = apps.get_model("core", "RuntimeSetting")
    for row in RuntimeSetting.objects.all():
        if _API_KEY.fullmatch(row.key) and is_sealed(row.value):
            RuntimeSetting.objects.filter(pk=row.pk).update(value=unseal(row.value))


class Migration(migrations.Migration):
    """Provider API keys stored in plain text before they were encrypted at rest get sealed."""

    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(encrypt, decrypt)]
