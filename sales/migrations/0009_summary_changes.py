from django.db import migrations

from sales import summary_changes_sql


def _execute(schema_editor, statements: list[str]) -> None:
    """PostgreSQL only: SQLite serves no summary again (no snapshots)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def install(apps, schema_editor):
    """The record of the transactions that change what the summary reads."""
    _execute(schema_editor, summary_changes_sql.install_sql())


def uninstall(apps, schema_editor):
    _execute(schema_editor, summary_changes_sql.uninstall_sql())


class Migration(migrations.Migration):

    dependencies = [
        ("sales", "0008_seller_names"),
    ]

    operations = [
        migrations.RunPython(install, uninstall),
    ]
