from django.db import migrations

from sales import totals_sql


def set_storage(apps, schema_editor):
    for statement in totals_sql.storage_sql(schema_editor.connection.vendor):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0006_document_void_idx"),
    ]

    operations = [
        migrations.RunPython(set_storage, migrations.RunPython.noop),
    ]
