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

from typing import NamedTuple

DOCUMENTS = "sales_document"
TYPES = "sales_documenttype"
DAILY = "sales_salesdailytotal"
MONTHLY = "sales_salesmonthlytotal"
SELLER_DAILY = "sales_sellerdailysalestotal"
SELLER_MONTHLY = "sales_sellermonthlysalestotal"
AMOUNTS = ("total", "net", "tax", "exempt")
TYPE_SUMS = (*(f"{a}_cents" for a in AMOUNTS), "documents")
COLUMNS = f"day, seller_id, office_id, document_type_id, {', '.join(TYPE_SUMS)}"
MONTH_COLUMNS = COLUMNS.replace("day,", "month,", 1)
# The sellers' tables: sales (use 0) and returns (use 1) side by side, other uses left out.
USES = (("sales", 0), ("returns", 1))
USE_AMOUNTS = ("total", "net", "tax")
SELLER_SUMS = (*(f"{use}_{a}_cents" for use, _ in USES for a in USE_AMOUNTS), "documents")
# A day's rows are written together, then updated in place by each later document of that
# day: free room on every page keeps those updates on the page (HOT), so a range of days reads
# few pages instead of one per row (docs/performance.md, "Storage").
FILLFACTOR = 70
KEYS = {
    DAILY: "sales_daily_total_key",
    MONTHLY: "sales_monthly_total_key",
    SELLER_DAILY: "sales_seller_daily_key",
    SELLER_MONTHLY: "sales_seller_monthly_key",
}
TRIGGER_NAMES = (
    "sales_totals_insert",
    "sales_totals_update",
    "sales_totals_delete",
    "sales_totals_truncate",
    "sales_totals_update_old",
    "sales_totals_update_new",
    "sales_seller_totals_use",
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


def _by_use(amount, use: str = "t.use") -> list[str]:
    """The sellers' amounts (``SELLER_SUMS`` but ``documents``), in order: ``amount(a)``
    for a document of the matching use, 0 otherwise; ``use`` is the type's use."""
    return [
        f"CASE WHEN {use} = {value} THEN {amount(a)} ELSE 0 END"
        for _name, value in USES
        for a in USE_AMOUNTS
    ]


def expected_seller_sql(vendor: str, period: str) -> str:
    """A seller table's rows computed from the documents (``period``: "day" or "month")."""
    date = "d.emission_date" if period == "day" else month_of(vendor, "d.emission_date")
    sums = ", ".join(f"SUM({e})" for e in _by_use(lambda a: cents(vendor, f"d.{a}_amount")))
    return (
        f"SELECT {date} AS {period}, d.user_id AS seller_id, {sums}, COUNT(*) FROM {DOCUMENTS} d"
        f" INNER JOIN {TYPES} t ON t.id = d.document_type_id"
        " WHERE d.state = 0 AND d.user_id IS NOT NULL AND t.use IN (0, 1)"
        f" GROUP BY {date}, d.user_id"
    )


def seller_totals_from_types_sql(period: str, where: str = "") -> str:
    """Fill a seller table (``period``: "day" or "month") from the per-type totals of the
    same period; ``where``: extra conditions on them (alias ``x``)."""
    per_type, table = (DAILY, SELLER_DAILY) if period == "day" else (MONTHLY, SELLER_MONTHLY)
    sums = ", ".join(f"SUM({e})" for e in _by_use(lambda a: f"x.{a}_cents"))
    return (
        f"INSERT INTO {table} ({period}, seller_id, {', '.join(SELLER_SUMS)})"
        f" SELECT x.{period}, x.seller_id, {sums}, SUM(x.documents) FROM {per_type} x"
        f" INNER JOIN {TYPES} t ON t.id = x.document_type_id"
        f" WHERE t.use IN (0, 1){where} GROUP BY x.{period}, x.seller_id"
    )


def _resum_sellers_of_type(row: str) -> str:
    """A type's use changed: its sellers' rows, summed again from the per-type totals."""
    statements = []
    for period, per_type, table in (
        ("day", DAILY, SELLER_DAILY),
        ("month", MONTHLY, SELLER_MONTHLY),
    ):
        keys = f"SELECT {period}, seller_id FROM {per_type} WHERE document_type_id = {row}.id"
        statements.append(f"DELETE FROM {table} WHERE ({period}, seller_id) IN ({keys});")
        statements.append(
            seller_totals_from_types_sql(period, f" AND (x.{period}, x.seller_id) IN ({keys})")
            + ";"
        )
    return " ".join(statements)


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
    amounts = ", ".join(f"{sign}{cents('postgresql', f'{a}_amount')} AS {a}_cents" for a in AMOUNTS)
    return (
        "SELECT emission_date AS day, user_id AS seller_id, COALESCE(office_id, 0) AS office_id,"
        f" document_type_id, {amounts}, {sign}1 AS documents FROM {source}"
        " WHERE state = 0 AND user_id IS NOT NULL"
    )


def _pg_seller_delta(delta: str) -> str:
    split = _by_use(lambda a: f"x.{a}_cents")
    amounts = ", ".join(f"{e} AS {c}" for e, c in zip(split, SELLER_SUMS, strict=False))
    return (
        f"SELECT x.day, x.seller_id, {amounts}, x.documents FROM ({delta}) x"
        f" INNER JOIN {TYPES} t ON t.id = x.document_type_id WHERE t.use IN (0, 1)"
    )


def _pg_upsert(table: str, period: str, period_expr: str, key: str, sums, delta: str) -> str:
    total = ", ".join(f"SUM({c})" for c in sums)
    changed = " OR ".join(f"SUM({c}) <> 0" for c in sums)
    updates = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in sums)
    return (
        f"INSERT INTO {table} ({period}, {key}, {', '.join(sums)})"
        f" SELECT {period_expr}, {key}, {total} FROM ({delta}) delta"
        f" GROUP BY {period_expr}, {key} HAVING {changed}"
        f" ON CONFLICT ({period}, {key}) DO UPDATE SET {updates};"
    )


class _Totals(NamedTuple):
    """A pair of tables the triggers keep: their key after the period, the same key read
    from a document row, their summed columns, and the delta rows that feed them."""

    daily: str
    monthly: str
    key: str
    old_key: str
    sums: tuple[str, ...]
    delta: str


def _pg_drop_empty(table: str, period: str, period_expr: str, totals: _Totals) -> str:
    # Only keys that lost documents can reach 0: those of the old rows.
    return (
        f"DELETE FROM {table} WHERE documents = 0 AND ({period}, {totals.key})"
        f" IN (SELECT {period_expr}, {totals.old_key} FROM old_rows"
        " WHERE state = 0 AND user_id IS NOT NULL);"
    )


def _pg_function(name: str, delta: str, drop_empty: bool, sellers: bool) -> str:
    month, month_of_old = month_of("postgresql", "day"), month_of("postgresql", "emission_date")
    per_type_key = "user_id, COALESCE(office_id, 0), document_type_id"
    targets = [_Totals(DAILY, MONTHLY, _KEY, per_type_key, TYPE_SUMS, delta)]
    if sellers:
        seller_delta = _pg_seller_delta(delta)
        targets.append(
            _Totals(SELLER_DAILY, SELLER_MONTHLY, "seller_id", "user_id", SELLER_SUMS, seller_delta)
        )
    body = ""
    for totals in targets:
        body += _pg_upsert(totals.daily, "day", "day", totals.key, totals.sums, totals.delta)
        body += _pg_upsert(totals.monthly, "month", month, totals.key, totals.sums, totals.delta)
    if drop_empty:
        for totals in targets:
            body += _pg_drop_empty(totals.daily, "day", "emission_date", totals)
            body += _pg_drop_empty(totals.monthly, "month", month_of_old, totals)
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN {body} RETURN NULL; END $$;"
    )


def _postgresql_install(sellers: bool) -> list[str]:
    new, old = _pg_delta("new_rows", ""), _pg_delta("old_rows", "-")
    tables = (DAILY, MONTHLY, SELLER_DAILY, SELLER_MONTHLY) if sellers else (DAILY, MONTHLY)
    empty = " ".join(f"DELETE FROM {t};" for t in tables)
    statements = [
        _pg_function("sales_totals_insert", new, drop_empty=False, sellers=sellers),
        _pg_function(
            "sales_totals_update", f"{new} UNION ALL {old}", drop_empty=True, sellers=sellers
        ),
        _pg_function("sales_totals_delete", old, drop_empty=True, sellers=sellers),
        "CREATE OR REPLACE FUNCTION sales_totals_truncate() RETURNS trigger LANGUAGE plpgsql"
        f" AS $$ BEGIN {empty} RETURN NULL; END $$;",
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
    if sellers:
        statements += [
            "CREATE OR REPLACE FUNCTION sales_seller_totals_use() RETURNS trigger"
            f" LANGUAGE plpgsql AS $$ BEGIN {_resum_sellers_of_type('NEW')} RETURN NULL; END $$;",
            f"CREATE TRIGGER sales_seller_totals_use AFTER UPDATE OF use ON {TYPES}"
            " FOR EACH ROW WHEN (OLD.use IS DISTINCT FROM NEW.use)"
            " EXECUTE FUNCTION sales_seller_totals_use();",
        ]
    return statements


def _postgresql_uninstall() -> list[str]:
    names = ("sales_totals_insert", "sales_totals_update", "sales_totals_delete")
    return [
        *(f"DROP TRIGGER IF EXISTS {n} ON {DOCUMENTS};" for n in (*names, "sales_totals_truncate")),
        f"DROP TRIGGER IF EXISTS sales_seller_totals_use ON {TYPES};",
        *(
            f"DROP FUNCTION IF EXISTS {n}();"
            for n in (*names, "sales_totals_truncate", "sales_seller_totals_use")
        ),
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


def _sqlite_add(row: str, sellers: bool) -> str:
    values = ", ".join(cents("sqlite", f"{row}.{a}_amount") for a in AMOUNTS)
    key = f"{row}.user_id, COALESCE({row}.office_id, 0), {row}.document_type_id"
    statements = []
    for table, period, expr in _sqlite_periods(row, DAILY, MONTHLY):
        statements.append(
            f"INSERT INTO {table} ({period}, {_KEY}, {', '.join(TYPE_SUMS)})"
            f" VALUES ({expr}, {key}, {values}, 1)"
            f" ON CONFLICT ({period}, {_KEY}) DO UPDATE SET {_sqlite_added(TYPE_SUMS)};"
        )
    if sellers:
        split = _by_use(lambda a: cents("sqlite", f"{row}.{a}_amount"))
        for table, period, expr in _sqlite_periods(row, SELLER_DAILY, SELLER_MONTHLY):
            statements.append(
                f"INSERT INTO {table} ({period}, seller_id, {', '.join(SELLER_SUMS)})"
                f" SELECT {expr}, {row}.user_id, {', '.join(split)}, 1 FROM {TYPES} t"
                f" WHERE t.id = {row}.document_type_id AND t.use IN (0, 1)"
                f" ON CONFLICT ({period}, seller_id) DO UPDATE SET {_sqlite_added(SELLER_SUMS)};"
            )
    return " ".join(statements)


def _sqlite_remove(row: str, sellers: bool) -> str:
    updates = ", ".join(
        f"{a}_cents = {a}_cents - {cents('sqlite', f'{row}.{a}_amount')}" for a in AMOUNTS
    )
    statements = []
    for table, period, expr in _sqlite_periods(row, DAILY, MONTHLY):
        where = (
            f"{period} = {expr} AND seller_id = {row}.user_id"
            f" AND office_id = COALESCE({row}.office_id, 0)"
            f" AND document_type_id = {row}.document_type_id"
        )
        statements.append(
            f"UPDATE {table} SET {updates}, documents = documents - 1 WHERE {where};"
            f" DELETE FROM {table} WHERE {where} AND documents = 0;"
        )
    if sellers:
        use = f"(SELECT t.use FROM {TYPES} t WHERE t.id = {row}.document_type_id)"
        split = _by_use(lambda a: cents("sqlite", f"{row}.{a}_amount"), use)
        taken = ", ".join(f"{c} = {c} - {e}" for e, c in zip(split, SELLER_SUMS, strict=False))
        for table, period, expr in _sqlite_periods(row, SELLER_DAILY, SELLER_MONTHLY):
            where = f"{period} = {expr} AND seller_id = {row}.user_id"
            statements.append(
                f"UPDATE {table} SET {taken}, documents = documents - 1"
                f" WHERE {where} AND {use} IN (0, 1);"
                f" DELETE FROM {table} WHERE {where} AND documents = 0;"
            )
    return " ".join(statements)


def _sqlite_periods(row: str, daily: str, monthly: str) -> tuple:
    return (
        (daily, "day", f"{row}.emission_date"),
        (monthly, "month", month_of("sqlite", f"{row}.emission_date")),
    )


def _sqlite_added(columns) -> str:
    return ", ".join(f"{c} = {c} + excluded.{c}" for c in columns)


def _sqlite_install(sellers: bool) -> list[str]:
    def counted(row: str) -> str:
        return f"{row}.state = 0 AND {row}.user_id IS NOT NULL"

    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _RELEVANT)
    statements = [
        f"CREATE TRIGGER sales_totals_insert AFTER INSERT ON {DOCUMENTS}"
        f" WHEN {counted('NEW')} BEGIN {_sqlite_add('NEW', sellers)} END;",
        f"CREATE TRIGGER sales_totals_delete AFTER DELETE ON {DOCUMENTS}"
        f" WHEN {counted('OLD')} BEGIN {_sqlite_remove('OLD', sellers)} END;",
        f"CREATE TRIGGER sales_totals_update_old AFTER UPDATE ON {DOCUMENTS}"
        f" WHEN {counted('OLD')} AND ({changed}) BEGIN {_sqlite_remove('OLD', sellers)} END;",
        f"CREATE TRIGGER sales_totals_update_new AFTER UPDATE ON {DOCUMENTS}"
        f" WHEN {counted('NEW')} AND ({changed}) BEGIN {_sqlite_add('NEW', sellers)} END;",
    ]
    if sellers:
        statements.append(
            f"CREATE TRIGGER sales_seller_totals_use AFTER UPDATE OF use ON {TYPES}"
            f" WHEN OLD.use IS NOT NEW.use BEGIN {_resum_sellers_of_type('NEW')} END;"
        )
    return statements


def _sqlite_uninstall() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {n};"
        for n in (
            "sales_totals_insert",
            "sales_totals_delete",
            "sales_totals_update_old",
            "sales_totals_update_new",
            "sales_seller_totals_use",
        )
    ]


def storage_sql(vendor: str) -> list[str]:
    """PostgreSQL: room on each page for in-place updates, and the rows already there put
    in key order (a brief exclusive lock per table)."""
    if vendor != "postgresql":
        return []
    return [
        *(f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})" for table in KEYS),
        *(f"CLUSTER {table} USING {key}" for table, key in KEYS.items()),
    ]


def install_sql(vendor: str, *, sellers: bool = True) -> list[str]:
    """The triggers; ``sellers=False``: without the sellers' tables (migration 0004, which
    runs before they exist)."""
    if vendor == "postgresql":
        return _postgresql_install(sellers)
    if vendor == "sqlite":
        return _sqlite_install(sellers)
    raise NotImplementedError(f"sales totals triggers for {vendor}")


def uninstall_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return _postgresql_uninstall()
    if vendor == "sqlite":
        return _sqlite_uninstall()
    raise NotImplementedError(f"sales totals triggers for {vendor}")


def seller_rebuild_statements() -> list[tuple[str, list]]:
    """Empty the sellers' tables and sum them from the per-type totals."""
    return [
        (f"DELETE FROM {SELLER_DAILY}", []),
        (f"DELETE FROM {SELLER_MONTHLY}", []),
        (seller_totals_from_types_sql("day"), []),
        (seller_totals_from_types_sql("month"), []),
    ]


def rebuild_statements(
    vendor: str, batches: list[tuple[str, str]], *, sellers: bool = True
) -> list[tuple[str, list]]:
    """Empty the tables, sum the documents into the daily one per date range, then the
    monthly one from the daily one, then the sellers' from both. Run in one transaction
    (``rebuild_sales_totals``)."""
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
    if sellers:
        statements += seller_rebuild_statements()
    return statements


def differences_sql(vendor: str) -> str:
    """Rows (``kind``, period, seller, office, type, the five numbers) that differ between
    the totals and the documents, from either side. Empty when they agree. The sellers'
    tables (kinds "seller day", "seller month") report office and type 0: all of them."""
    daily = f"SELECT {COLUMNS} FROM {DAILY}"
    monthly = f"SELECT {MONTH_COLUMNS} FROM {MONTHLY}"
    expected_d, expected_m = expected_daily_sql(vendor), expected_monthly_sql(vendor)
    parts = [
        f"SELECT 'day' AS kind, x.* FROM ({expected_d} EXCEPT {daily}) x",
        f"SELECT 'day', y.* FROM ({daily} EXCEPT {expected_d}) y",
        f"SELECT 'month', z.* FROM ({expected_m} EXCEPT {monthly}) z",
        f"SELECT 'month', w.* FROM ({monthly} EXCEPT {expected_m}) w",
    ]
    zeros = ", ".join(["0"] * 7)  # office, type and the five numbers
    for kind, period, table in (("day", "day", SELLER_DAILY), ("month", "month", SELLER_MONTHLY)):
        actual = f"SELECT {period}, seller_id, {', '.join(SELLER_SUMS)} FROM {table}"
        expected = expected_seller_sql(vendor, period)
        for first, second in ((expected, actual), (actual, expected)):
            parts.append(
                f"SELECT 'seller {kind}', s.{period}, s.seller_id, {zeros}"
                f" FROM ({first} EXCEPT {second}) s"
            )
    return " UNION ALL ".join(parts)
