"""PostgreSQL: which transactions changed what the sales summary reads, so a summary kept in
the cache is served only while it is still exact (``sales.summary_cache``).

A statement trigger on each table the API's summary reads (the sellers' daily and monthly
totals, the sellers' names) records the writing transaction's id in
``sales_summary_change``: one row per transaction, inserted, never updated, so writers
never wait for each other. A summary computed under snapshot S is still exact while no
transaction that S did not see has committed a row here: that is one index probe.

Rows of transactions every current snapshot sees are pruned now and then (about one
writing transaction in ``PRUNE_EVERY`` prunes, without waiting if another is at it);
``sales_summary_horizon`` records how far, and a snapshot older than that is no longer
trusted. Design and figures: docs/performance.md, "A summary served again".
"""

from __future__ import annotations

from sales.seller_names_sql import NAMES
from sales.totals_sql import SELLER_DAILY, SELLER_MONTHLY

CHANGES = "sales_summary_change"
HORIZON = "sales_summary_horizon"
WATCHED = (SELLER_DAILY, SELLER_MONTHLY, NAMES)
PRUNE_EVERY = 4096
# pg_try_advisory_xact_lock's key for the pruning (any constant no other code uses).
PRUNE_LOCK = 7_301_554_001
_TRIGGER = "sales_summary_changed"


def install_sql() -> list[str]:
    triggers = [
        f"CREATE TRIGGER {_TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {_TRIGGER}();"
        for table in WATCHED
    ]
    return [
        f"CREATE TABLE {CHANGES} (txid xid8 PRIMARY KEY)",
        f"CREATE TABLE {HORIZON} (horizon xid8 NOT NULL)",
        f"INSERT INTO {HORIZON} VALUES ('0'::xid8)",
        # The pruner keeps its own row (it has not committed yet); every other transaction
        # older than its snapshot's xmin has ended, and a snapshot taken later sees it.
        "CREATE OR REPLACE FUNCTION sales_summary_prune() RETURNS void LANGUAGE plpgsql AS $$"
        " DECLARE upto xid8 := pg_snapshot_xmin(pg_current_snapshot());"
        f" BEGIN IF pg_try_advisory_xact_lock({PRUNE_LOCK}) THEN"
        f" DELETE FROM {CHANGES} WHERE txid < upto AND txid <> pg_current_xact_id();"
        f" UPDATE {HORIZON} SET horizon = upto WHERE horizon < upto;"
        " END IF; END $$;",
        f"CREATE OR REPLACE FUNCTION {_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$"
        " DECLARE me xid8 := pg_current_xact_id();"
        f" BEGIN INSERT INTO {CHANGES} VALUES (me) ON CONFLICT DO NOTHING;"
        f" IF FOUND AND me::text::bigint % {PRUNE_EVERY} = 0 THEN"
        " PERFORM sales_summary_prune(); END IF;"
        " RETURN NULL; END $$;",
        *triggers,
    ]


def uninstall_sql() -> list[str]:
    return [
        *(f"DROP TRIGGER IF EXISTS {_TRIGGER} ON {table};" for table in WATCHED),
        f"DROP FUNCTION IF EXISTS {_TRIGGER}();",
        "DROP FUNCTION IF EXISTS sales_summary_prune();",
        f"DROP TABLE IF EXISTS {CHANGES}",
        f"DROP TABLE IF EXISTS {HORIZON}",
    ]


# The kept summary's snapshot is still good: no transaction it did not see (one that started
# after it, or was running then) has committed a change since, and nothing it needs was
# pruned. Index probes only, however many changes a long transaction holds back from pruning.
STILL_EXACT_SQL = (
    f"SELECT NOT EXISTS (SELECT 1 FROM {CHANGES}"
    " WHERE txid >= pg_snapshot_xmax(%(s)s::pg_snapshot))"
    f" AND NOT EXISTS (SELECT 1 FROM {CHANGES}"
    " WHERE txid IN (SELECT pg_snapshot_xip(%(s)s::pg_snapshot)))"
    f" AND pg_snapshot_xmin(%(s)s::pg_snapshot) >= (SELECT horizon FROM {HORIZON})"
)


def with_snapshot_sql(query: str) -> str:
    """``query``'s rows, each after the snapshot the statement ran under (one row of NULLs
    when it has none): the snapshot a cached result is checked against later."""
    return (
        "SELECT s.snapshot, q.* FROM (SELECT pg_current_snapshot()::text AS snapshot) s"
        f" LEFT JOIN ({query}) q ON TRUE"
    )
