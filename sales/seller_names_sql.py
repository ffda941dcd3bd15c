"""The sellers' names beside their totals (``SellerName``), kept by database triggers.

The unfiltered sales summary joins its ~1,000 sellers to these rows, a small table hashed at
once, instead of probing the users table once per seller (docs/performance.md, "The
sellers' names beside their totals"). As the totals, triggers keep them, so no write path
can miss them:

- a document written with a seller (insert, or update to another seller) adds the seller's
  row when it is missing, reading the user's row ``FOR SHARE``, so a rename running at the
  same time either comes first and is copied, or waits and then updates the new row;
- a user inserted after documents that name them (a deferred foreign key) gets a row;
- a change of a user's first or last name is copied to the row;
- a deleted user's row goes.

A seller whose documents all went keeps the row: a seller without totals is never joined.
``check_sales_totals`` compares the rows of the sellers in the totals with the users;
``rebuild_sales_totals`` writes them again for every user a document names.
"""

from __future__ import annotations

from sales.totals_sql import DOCUMENTS, SELLER_MONTHLY

NAMES = "sales_sellername"
USERS = "users_user"
# Trigger -> its table.
TRIGGERS = {
    "sales_seller_names_insert": DOCUMENTS,
    "sales_seller_names_update": DOCUMENTS,
    "sales_seller_names_arrive": USERS,
    "sales_seller_names_rename": USERS,
    "sales_seller_names_forget": USERS,
}
FUNCTIONS = (
    "sales_seller_names_add",
    "sales_seller_names_arrive",
    "sales_seller_names_rename",
    "sales_seller_names_forget",
)
_COLUMNS = "seller_id, first_name, last_name"


def _copy_missing(sellers: str, lock: str = "") -> str:
    """Copy the names of the users in ``sellers`` (a subquery of ids) that have no row."""
    return (
        f"INSERT INTO {NAMES} ({_COLUMNS}) SELECT u.id, u.first_name, u.last_name FROM {USERS} u"
        f" WHERE u.id IN ({sellers}) AND NOT EXISTS"
        f" (SELECT 1 FROM {NAMES} n WHERE n.seller_id = u.id){lock}"
        " ON CONFLICT (seller_id) DO NOTHING;"
    )


def _copy_arrived(users: str) -> str:
    """Users inserted after documents that name them (a deferred foreign key, e.g. a
    fixture loaded documents first): their names too."""
    return (
        f"INSERT INTO {NAMES} ({_COLUMNS}) SELECT u.id, u.first_name, u.last_name FROM {users}"
        f" WHERE EXISTS (SELECT 1 FROM {DOCUMENTS} d WHERE d.user_id = u.id)"
        " ON CONFLICT (seller_id) DO NOTHING;"
    )


_RENAME = (
    f"UPDATE {NAMES} SET first_name = NEW.first_name, last_name = NEW.last_name"
    " WHERE seller_id = NEW.id;"
)
_FORGET = f"DELETE FROM {NAMES} WHERE seller_id = OLD.id;"


def _postgresql_install() -> list[str]:
    def function(name: str, body: str) -> str:
        return (
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN {body} RETURN NULL; END $$;"
        )

    added = _copy_missing(
        "SELECT user_id FROM new_rows WHERE user_id IS NOT NULL", " FOR SHARE OF u"
    )
    return [
        function("sales_seller_names_add", added),
        function("sales_seller_names_arrive", _copy_arrived("new_rows u")),
        function("sales_seller_names_rename", _RENAME),
        function("sales_seller_names_forget", _FORGET),
        # Statement-level, as the totals' triggers: one query per bulk write, not per row.
        f"CREATE TRIGGER sales_seller_names_insert AFTER INSERT ON {DOCUMENTS}"
        " REFERENCING NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION sales_seller_names_add();",
        f"CREATE TRIGGER sales_seller_names_update AFTER UPDATE ON {DOCUMENTS}"
        " REFERENCING NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION sales_seller_names_add();",
        f"CREATE TRIGGER sales_seller_names_arrive AFTER INSERT ON {USERS}"
        " REFERENCING NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION sales_seller_names_arrive();",
        f"CREATE TRIGGER sales_seller_names_rename AFTER UPDATE OF first_name, last_name"
        f" ON {USERS} FOR EACH ROW WHEN (OLD.first_name IS DISTINCT FROM NEW.first_name"
        " OR OLD.last_name IS DISTINCT FROM NEW.last_name)"
        " EXECUTE FUNCTION sales_seller_names_rename();",
        f"CREATE TRIGGER sales_seller_names_forget AFTER DELETE ON {USERS}"
        " FOR EACH ROW EXECUTE FUNCTION sales_seller_names_forget();",
    ]


def _sqlite_install() -> list[str]:
    added = _copy_missing("NEW.user_id")
    user = "NEW.id AS id, NEW.first_name AS first_name, NEW.last_name AS last_name"
    arrived = _copy_arrived(f"(SELECT {user}) u")
    return [
        f"CREATE TRIGGER sales_seller_names_insert AFTER INSERT ON {DOCUMENTS}"
        f" WHEN NEW.user_id IS NOT NULL BEGIN {added} END;",
        f"CREATE TRIGGER sales_seller_names_update AFTER UPDATE OF user_id ON {DOCUMENTS}"
        f" WHEN NEW.user_id IS NOT NULL BEGIN {added} END;",
        f"CREATE TRIGGER sales_seller_names_arrive AFTER INSERT ON {USERS} BEGIN {arrived} END;",
        f"CREATE TRIGGER sales_seller_names_rename AFTER UPDATE OF first_name, last_name"
        f" ON {USERS} WHEN OLD.first_name IS NOT NEW.first_name"
        f" OR OLD.last_name IS NOT NEW.last_name BEGIN {_RENAME} END;",
        f"CREATE TRIGGER sales_seller_names_forget AFTER DELETE ON {USERS} BEGIN {_FORGET} END;",
    ]


def install_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return _postgresql_install()
    if vendor == "sqlite":
        return _sqlite_install()
    raise NotImplementedError(f"sellers' names triggers for {vendor}")


def uninstall_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [
            *(f"DROP TRIGGER IF EXISTS {name} ON {table};" for name, table in TRIGGERS.items()),
            *(f"DROP FUNCTION IF EXISTS {name}();" for name in FUNCTIONS),
        ]
    return [f"DROP TRIGGER IF EXISTS {name};" for name in TRIGGERS]


def rebuild_statements() -> list[tuple[str, list]]:
    """The rows again, for every user a document names (as the triggers keep them: a
    seller whose documents are all void or of other uses today can be summed tomorrow,
    when a type's use changes)."""
    return [
        (f"DELETE FROM {NAMES}", []),
        (
            f"INSERT INTO {NAMES} ({_COLUMNS}) SELECT u.id, u.first_name, u.last_name"
            f" FROM {USERS} u WHERE EXISTS (SELECT 1 FROM {DOCUMENTS} d WHERE d.user_id = u.id)",
            [],
        ),
    ]


def differences_sql() -> str:
    """Sellers of the sellers' totals whose row is missing or whose name differs from the
    user's: rows of (seller id)."""
    return (
        f"SELECT s.seller_id FROM (SELECT DISTINCT seller_id FROM {SELLER_MONTHLY}) s"
        f" INNER JOIN {USERS} u ON u.id = s.seller_id"
        f" LEFT JOIN {NAMES} n ON n.seller_id = s.seller_id"
        " WHERE n.seller_id IS NULL OR n.first_name <> u.first_name"
        " OR n.last_name <> u.last_name"
    )
