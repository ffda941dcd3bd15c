"""The SQL that keeps the sales totals (``SalesDailyTotal``, ``SalesMonthlyTotal``) exact.

Database triggers on ``sales_document`` add every counted document (state 0, with a
seller) to its day's and its month's row, keyed by seller, office (0: none) and document
type, and take it away again when it is voided, deleted or moved. Triggers, not service
code: no write path can bypass them (the sync's bulk upserts, ``QuerySet.update``, raw
SQL, the admin, ``seed_demo``, ``loaddata``), they change in the same transaction as the
documents, and a service write sends no extra statement.

- PostgreSQL: STATEMENT-level triggers with transition tables, one aggregated upsert per
  statement and table (a bulk insert of 5,000 documents costs two upserts, not 10,000).
  PostgreSQL wants one trigger per event when transition tables are used.
- SQLite: row-level triggers (it has no statement-level ones).

Amounts are integer cents (exact on SQLite, whose numerics are floats). A row whose
count reaches 0 is deleted, so a row means "at least one counted document", as the
summary's raw aggregate lists a seller only when it has one.

The migration ``sales/migrations/0004_sales_totals.py`` installs ``install_sql(vendor)``;
``rebuild_sales_totals`` and ``check_sales_totals`` use the rebuild and expected queries.
"""

from __future__ import annotations

DOCUMENTS = "sales_document"
DAILY = "sales_salesdailytotal"
MONTHLY = "sales_salesmonthlytotal"
AMOUNTS = ("total", "net", "tax", "exempt")
COLUMNS = "day, seller_id, office_id, document_type_id, total_cents, net_cents, tax_cents, exempt_cents, documents"
MONTH_COLUMNS = COLUMNS.replace("day,", "month,", 1)
TRIGGER_NAMES = (
    "sales_totals_insert",
    "sales_totals_update",
    "sales_totals_delete",
    "sales_totals_truncate",
    "sales_totals_update_old",
    "sales_totals_update_new",
)


def cents(vendor: str, expression: str) -> str:
    """An amount column as integer cents."""
    if vendor == "postgresql":
        return f"({expression} * 100)::bigint"
    # SQLite hands the NUMERIC column over as a REAL (or INTEGER): round, not truncate.
    return f"CAST(ROUND({expression} * 100) AS INTEGER)"


def month_of(vendor: str, expression: str) -> str:
    """The first day of a date's month."""
    if vendor == "postgresql":
        return f"date_trunc('month', {expression})::date"
    return f"strftime('%Y-%m-01', {expression})"


def expected_daily_sql(vendor: str, where: str = "") -> str:
    """The daily totals computed from the documents (``where``: extra conditions on ``d``)."""
    sums = ", ".join(f"SUM({cents(vendor, f'd.{a}_amount')})" for a in AMOUNTS)
    return (
        f"SELECT d.emission_date, d.user_id, COALESCE(d.office_id, 0), d.document_type_id,"
        f" {sums}, COUNT(*) FROM {DOCUMENTS} d"
        f" WHERE d.state = 0 AND d.user_id IS NOT NULL{where}"
        " GROUP BY d.emission_date, d.user_id, COALESCE(d.office_id, 0), d.document_type_id"
    )


def expected_monthly_sql(vendor: str) -> str:
    """The monthly totals computed from the documents."""
    month = month_of(vendor, "d.emission_date")
    sums = ", ".join(f"SUM({cents(vendor, f'd.{a}_amount')})" for a in AMOUNTS)
    return (
        f"SELECT {month}, d.user_id, COALESCE(d.office_id, 0), d.document_type_id,"
        f" {sums}, COUNT(*) FROM {DOCUMENTS} d"
        " WHERE d.state = 0 AND d.user_id IS NOT NULL"
        f" GROUP BY {month}, d.user_id, COALESCE(d.office_id, 0), d.document_type_id"
    )


def monthly_from_daily_sql(vendor: str) -> str:
    """The monthly totals summed from the daily ones (the rebuild's second step)."""
    month = month_of(vendor, "day")
    return (
        f"INSERT INTO {MONTHLY} ({MONTH_COLUMNS})"
        f" SELECT {month}, seller_id, office_id, document_type_id, SUM(total_cents),"
        " SUM(net_cents), SUM(tax_cents), SUM(exempt_cents), SUM(documents)"
        f" FROM {DAILY} GROUP BY {month}, seller_id, office_id, document_type_id"
    )


# --- PostgreSQL ------------------------------------------------------------------------------

_KEY = "seller_id, office_id, document_type_id"


def _pg_delta(source: str, sign: str) -> str:
    amounts = ", ".join(f"{sign}{cents('postgresql', f'{a}_amount')} AS {a}" for a in AMOUNTS)
    return (
        "SELECT emission_date AS day, user_id AS seller_id, COALESCE(office_id, 0) AS office_id,"
        f" document_type_id, {amounts}, {sign}1 AS n FROM {source}"
        " WHERE state = 0 AND user_id IS NOT NULL"
    )


def _pg_upsert(table: str, period: str, period_expr: str, delta: str) -> str:
    sums = ", ".join(f"SUM({a})" for a in AMOUNTS)
    changed = " OR ".join(f"SUM({a}) <> 0" for a in (*AMOUNTS, "n"))
    updates = ", ".join(
        f"{c} = {table}.{c} + EXCLUDED.{c}"
        for c in ("total_cents", "net_cents", "tax_cents", "exempt_cents", "documents")
    )
    return (
        f"INSERT INTO {table} ({period}, {_KEY}, total_cents, net_cents, tax_cents,"
        " exempt_cents, documents)"
        f" SELECT {period_expr}, {_KEY}, {sums}, SUM(n) FROM ({delta}) delta"
        f" GROUP BY {period_expr}, {_KEY} HAVING {changed}"
        f" ON CONFLICT ({period}, {_KEY}) DO UPDATE SET {updates};"
    )


def _pg_drop_empty(table: str, period: str, period_expr: str) -> str:
    # Only keys that lost documents can reach 0: those of the old rows.
    return (
        f"DELETE FROM {table} t WHERE t.documents = 0 AND (t.{period}, t.seller_id, t.office_id,"
        f" t.document_type_id) IN (SELECT {period_expr}, user_id, COALESCE(office_id, 0),"
        " document_type_id FROM old_rows WHERE state = 0 AND user_id IS NOT NULL);"
    )


def _pg_function(name: str, delta: str, drop_empty: bool) -> str:
    body = _pg_upsert(DAILY, "day", "day", delta) + _pg_upsert(
        MONTHLY, "month", month_of("postgresql", "day"), delta
    )
    if drop_empty:
        body += _pg_drop_empty(DAILY, "day", "emission_date")
        body += _pg_drop_empty(MONTHLY, "month", month_of("postgresql", "emission_date"))
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN {body} RETURN NULL; END $$;"
    )


def _postgresql_install() -> list[str]:
    new, old = _pg_delta("new_rows", ""), _pg_delta("old_rows", "-")
    return [
        _pg_function("sales_totals_insert", new, drop_empty=False),
        _pg_function("sales_totals_update", f"{new} UNION ALL {old}", drop_empty=True),
        _pg_function("sales_totals_delete", old, drop_empty=True),
        "CREATE OR REPLACE FUNCTION sales_totals_truncate() RETURNS trigger LANGUAGE plpgsql"
        f" AS $$ BEGIN DELETE FROM {DAILY}; DELETE FROM {MONTHLY}; RETURN NULL; END $$;",
        f"CREATE TRIGGER sales_totals_insert AFTER INSERT ON {DOCUMENTS}"
        " REFERENCING NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION sales_totals_insert();",
        f"CREATE TRIGGER sales_totals_update AFTER UPDATE ON {DOCUMENTS}"
        " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION sales_totals_update();",
        f"CREATE TRIGGER sales_totals_delete AFTER DELETE ON {DOCUMENTS}"
        " REFERENCING OLD TABLE AS old_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION sales_totals_delete();",
        f"CREATE TRIGGER sales_totals_truncate AFTER TRUNCATE ON {DOCUMENTS}"
        " FOR EACH STATEMENT EXECUTE FUNCTION sales_totals_truncate();",
    ]


def _postgresql_uninstall() -> list[str]:
    names = ("sales_totals_insert", "sales_totals_update", "sales_totals_delete")
    return [
        *(f"DROP TRIGGER IF EXISTS {n} ON {DOCUMENTS};" for n in (*names, "sales_totals_truncate")),
        *(f"DROP FUNCTION IF EXISTS {n}();" for n in (*names, "sales_totals_truncate")),
    ]


# --- SQLite ----------------------------------------------------------------------------------

_RELEVANT = (
    "state",
    "user_id",
    "office_id",
    "emission_date",
    "document_type_id",
    *(f"{a}_amount" for a in AMOUNTS),
)


def _sqlite_add(row: str) -> str:
    values = ", ".join(cents("sqlite", f"{row}.{a}_amount") for a in AMOUNTS)
    key = f"{row}.user_id, COALESCE({row}.office_id, 0), {row}.document_type_id"
    updates = ", ".join(
        f"{c} = {c} + excluded.{c}"
        for c in ("total_cents", "net_cents", "tax_cents", "exempt_cents", "documents")
    )
    statements = []
    for table, period, expr in (
        (DAILY, "day", f"{row}.emission_date"),
        (MONTHLY, "month", month_of("sqlite", f"{row}.emission_date")),
    ):
        statements.append(
            f"INSERT INTO {table} ({period}, {_KEY}, total_cents, net_cents, tax_cents,"
            f" exempt_cents, documents) VALUES ({expr}, {key}, {values}, 1)"
            f" ON CONFLICT ({period}, {_KEY}) DO UPDATE SET {updates};"
        )
    return " ".join(statements)


def _sqlite_remove(row: str) -> str:
    updates = ", ".join(
        f"{a}_cents = {a}_cents - {cents('sqlite', f'{row}.{a}_amount')}" for a in AMOUNTS
    )
    statements = []
    for table, period, expr in (
        (DAILY, "day", f"{row}.emission_date"),
        (MONTHLY, "month", month_of("sqlite", f"{row}.emission_date")),
    ):
        where = (
            f"{period} = {expr} AND seller_id = {row}.user_id"
            f" AND office_id = COALESCE({row}.office_id, 0)"
            f" AND document_type_id = {row}.document_type_id"
        )
        statements.append(
            f"UPDATE {table} SET {updates}, documents = documents - 1 WHERE {where};"
            f" DELETE FROM {table} WHERE {where} AND documents = 0;"
        )
    return " ".join(statements)


def _sqlite_install() -> list[str]:
    def counted(row: str) -> str:
        return f"{row}.state = 0 AND {row}.user_id IS NOT NULL"

    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _RELEVANT)
    return [
        f"CREATE TRIGGER sales_totals_insert AFTER INSERT ON {DOCUMENTS}"
        f" WHEN {counted('NEW')} BEGIN {_sqlite_add('NEW')} END;",
        f"CREATE TRIGGER sales_totals_delete AFTER DELETE ON {DOCUMENTS}"
        f" WHEN {counted('OLD')} BEGIN {_sqlite_remove('OLD')} END;",
        f"CREATE TRIGGER sales_totals_update_old AFTER UPDATE ON {DOCUMENTS}"
        f" WHEN {counted('OLD')} AND ({changed}) BEGIN {_sqlite_remove('OLD')} END;",
        f"CREATE TRIGGER sales_totals_update_new AFTER UPDATE ON {DOCUMENTS}"
        f" WHEN {counted('NEW')} AND ({changed}) BEGIN {_sqlite_add('NEW')} END;",
    ]


def _sqlite_uninstall() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {n};"
        for n in (
            "sales_totals_insert",
            "sales_totals_delete",
            "sales_totals_update_old",
            "sales_totals_update_new",
        )
    ]


def install_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return _postgresql_install()
    if vendor == "sqlite":
        return _sqlite_install()
    raise NotImplementedError(f"sales totals triggers for {vendor}")


def uninstall_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return _postgresql_uninstall()
    if vendor == "sqlite":
        return _sqlite_uninstall()
    raise NotImplementedError(f"sales totals triggers for {vendor}")


def rebuild_statements(vendor: str, batches: list[tuple[str, str]]) -> list[tuple[str, list]]:
    """Empty both tables, sum the documents into the daily one per date range, then the
    monthly one from the daily one. Run in one transaction (``rebuild_sales_totals``)."""
    statements: list[tuple[str, list]] = [
        (f"DELETE FROM {DAILY}", []),
        (f"DELETE FROM {MONTHLY}", []),
    ]
    for first, last in batches:
        statements.append(
            (
                f"INSERT INTO {DAILY} ({COLUMNS}) "
                + expected_daily_sql(vendor, " AND d.emission_date BETWEEN %s AND %s"),
                [first, last],
            )
        )
    statements.append((monthly_from_daily_sql(vendor), []))
    return statements


def differences_sql(vendor: str) -> str:
    """Rows (``kind``, period, seller, office, type, the five numbers) that differ between
    the totals and the documents, from either side. Empty when they agree."""
    daily = f"SELECT {COLUMNS} FROM {DAILY}"
    monthly = f"SELECT {MONTH_COLUMNS} FROM {MONTHLY}"
    expected_d, expected_m = expected_daily_sql(vendor), expected_monthly_sql(vendor)
    parts = [
        f"SELECT 'day' AS kind, x.* FROM ({expected_d} EXCEPT {daily}) x",
        f"SELECT 'day', y.* FROM ({daily} EXCEPT {expected_d}) y",
        f"SELECT 'month', z.* FROM ({expected_m} EXCEPT {monthly}) z",
        f"SELECT 'month', w.* FROM ({monthly} EXCEPT {expected_m}) w",
    ]
    return " UNION ALL ".join(parts)
