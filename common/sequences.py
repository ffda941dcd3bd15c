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


_sequences: dict[tuple[str, str], str] = {}


def pg_get_serial_sequence(cursor, table: str) -> str:
    """The name of ``table``'s id sequence (asked once per database and table)."""
    key = (cursor.db.settings_dict["NAME"], table)
    if key not in _sequences:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        _sequences[key] = cursor.fetchone()[0]
    return _sequences[key]


def advance_id_sequence(model, *, at_least: int = 0, using: str = "default") -> int:
    """Move ``model``'s id sequence so the next id is above every row and >= ``at_least``;
    never backwards. Returns the next id the table will hand out."""
    connection = connections[using]
    table = model._meta.db_table
    quoted = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement (the mirror calls this for every page it writes). A concurrent
            # nextval() is not excluded, as it was not with the four statements this was.
            sequence = pg_get_serial_sequence(cursor, table)
            cursor.execute(
                f"SELECT setval(%s, GREATEST((SELECT COALESCE(MAX(id), 0) + 1 FROM {quoted}),"
                f" %s, CASE WHEN is_called THEN last_value + 1 ELSE last_value END), false)"
                f" FROM {sequence}",
                [sequence, at_least],
            )
            return cursor.fetchone()[0]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {quoted}")
        highest = cursor.fetchone()[0]
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
