"""PostgreSQL: which transactions changed what the sales summary reads, so a summary kept in
the cache is served only while it is still exact (``sales.summary_cache``).

A statement trigger on each table the API's summary reads (the sellers' daily and monthly
totals, the sellers' names) records the writing transaction's id in
``sales_summary_change``: one row per transaction, inserted, never updated, so writers
never wait for each other. A summary computed under snapshot S is still exact while no
transaction that S did not see has committed a row here: a few index probes.

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
        # Not in a REPEATABLE READ or SERIALIZABLE writer: its old snapshot would make the
        # pruning's DELETE fail on rows another pruning removed since (the write with it).
        f" IF FOUND AND me::text::bigint % {PRUNE_EVERY} = 0"
        " AND current_setting('transaction_isolation') = 'read committed' THEN"
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


# Which server and database a snapshot belongs to: transaction ids are only comparable
# within one run of one cluster (a restore, a failover or a restart starts another).
_SERVER = (
    "pg_postmaster_start_time()::text || ' '"
    " || (SELECT oid FROM pg_database WHERE datname = current_database())::text"
)

# The kept summary's snapshot is still good: same server and database, no transaction it
# did not see (one that started after it, or was running then) has committed a change since,
# and nothing it needs was pruned. Index probes only, however many changes a long
# transaction holds back from pruning. ``%(kept)s``: what ``with_snapshot_sql`` returned.
STILL_EXACT_SQL = (
    f"SELECT k.server = {_SERVER}"
    f" AND NOT EXISTS (SELECT 1 FROM {CHANGES} WHERE txid >= pg_snapshot_xmax(k.s))"
    f" AND NOT EXISTS (SELECT 1 FROM {CHANGES} WHERE txid IN (SELECT pg_snapshot_xip(k.s)))"
    f" AND pg_snapshot_xmin(k.s) >= (SELECT horizon FROM {HORIZON})"
    " FROM (SELECT split_part(%(kept)s, '|', 1)::pg_snapshot AS s,"
    " split_part(%(kept)s, '|', 2) AS server) k"
)


def with_snapshot_sql(query: str) -> str:
    """``query``'s rows, each after the snapshot the statement ran under and its server (one
    row of NULLs when it has none): what a kept result is checked against later."""
    return (
        f"SELECT s.snapshot, q.* FROM (SELECT pg_current_snapshot()::text || '|' || {_SERVER}"
        f" AS snapshot) s LEFT JOIN ({query}) q ON TRUE"
    )
