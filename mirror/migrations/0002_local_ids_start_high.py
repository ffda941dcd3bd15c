"""Rows created here (a staff user, an API client, an office typed in the admin) take
ids from 1,000,000,000 up, far above any Bsale id, so a record mirrored later never
meets one of ours (docs/mirror.md#ids). Never moves a sequence backwards."""

from django.db import migrations

MIRRORED = [("offices", "Office"), ("users", "User"), ("sales", "DocumentType"), ("sales", "Document")]


def start_local_ids_high(apps, schema_editor):
    from common.sequences import LOCAL_ID_START, advance_id_sequence

    for app_label, model_name in MIRRORED:
        advance_id_sequence(
            apps.get_model(app_label, model_name),
            at_least=LOCAL_ID_START,
            using=schema_editor.connection.alias,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("mirror", "0001_initial"),
        ("offices", "0001_initial"),
        ("users", "0002_user_manager_invalidates_auth_cache"),
        ("sales", "0002_initial"),
    ]

    operations = [migrations.RunPython(start_local_ids_high, migrations.RunPython.noop)]
