"""Primary-key sequences: where the ids of rows created here start.

Mirrored records keep their source's ids (Bsale's). Rows created here afterwards
take ids from the table's sequence, so the sequence must stay ahead of every
explicit id (PostgreSQL does not move it on explicit inserts; SQLite's AUTOINCREMENT
does) and, so that a source's future ids never meet a local one, local ids start at
``LOCAL_ID_START`` (docs/mirror.md#ids).
"""

from __future__ import annotations

from django.db import connections

LOCAL_ID_START = 1_000_000_000


def advance_id_sequence(model, *, at_least: int = 0, using: str = "default") -> int:
    """Move ``model``'s id sequence so the next id is above every row and >= ``at_least``;
    never backwards. Returns the next id the table will hand out."""
    connection = connections[using]
    table = model._meta.db_table
    quoted = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {quoted}")
        highest = cursor.fetchone()[0]
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            cursor.execute(f"SELECT last_value, is_called FROM {sequence}")
            last, called = cursor.fetchone()
            target = max(highest + 1, at_least, last + 1 if called else last)
            cursor.execute("SELECT setval(%s, %s, false)", [sequence, target])
            return target
        if connection.vendor == "sqlite":
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            target = max(highest + 1, at_least, (row[0] + 1) if row else 1)
            if row:
                cursor.execute(
                    "UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [target - 1, table]
                )
            else:
                cursor.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, target - 1]
                )
            return target
    raise NotImplementedError(f"id sequences on {connection.vendor}")
