from django.db import migrations


class Migration(migrations.Migration):
    """RuntimeSetting now lives in core (core.0001 adopts it): state only, the table stays."""

    dependencies = [("photochanger", "0002_default_settings"), ("core", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="RuntimeSetting")],
            database_operations=[],
        ),
    ]
