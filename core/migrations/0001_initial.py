import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def adopt_content_type(apps, schema_editor):
    """Admin history and permissions of the moved model follow it to its new app."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="core", model="runtimesetting").exists():
        ContentType.objects.filter(app_label="photochanger", model="runtimesetting").update(
            app_label="core"
        )


class Migration(migrations.Migration):
    """RuntimeSetting moves from photochanger to core: state only, no data moves."""

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("contenttypes", "0002_remove_content_type_name"),
        ("photochanger", "0002_default_settings"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="RuntimeSetting",
                    fields=[
                        (
                            "key",
                            models.CharField(
                                max_length=64,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ключ",
                            ),
                        ),
                        ("value", models.JSONField(blank=True, null=True, verbose_name="значение")),
                        ("version", models.PositiveIntegerField(default=1, verbose_name="версия")),
                        ("updated_at", models.DateTimeField(auto_now=True, verbose_name="изменено")),
                        (
                            "updated_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="кем изменено",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "настройка",
                        "verbose_name_plural": "настройки",
                        "ordering": ["key"],
                        "db_table": "photochanger_runtimesetting",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(adopt_content_type, migrations.RunPython.noop),
    ]
