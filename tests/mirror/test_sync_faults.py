"""Fault injection between the sync and a real source: each test fails without the
behaviour it checks (noted on each)."""

import datetime as dt
import time

import pytest

from mirror.bsale_client import BsaleClient, BsaleError
from mirror.models import SyncRun
from mirror.sync import SyncBusy, run_sync
from sales.models import Document
from tests.mirror.faults import fault_proxy
from tests.mirror.sources import source_getter, walk

pytestmark = [pytest.mark.server, pytest.mark.django_db]


def client_for(url, source, **kwargs):
    options = {"timeout": 5, "tries": 4, "limiter": None, "backoff_base": 0.01, **kwargs}
    return BsaleClient(url, source.token, **options)


def once(condition, action):
    """A plan that does ``action`` the first time ``condition(path)`` holds."""
    fired = []

    def plan(_number, path):
        if not fired and condition(path):
            fired.append(path)
            return action
        return None

    return plan


def offices(path):
    return path.startswith("/v1/offices.json")


def test_429_waits_for_retry_after(source):
    # Without honouring Retry-After (a 10 ms backoff instead), every retry comes too
    # early, this server keeps answering 429 and the sync fails.
    state = {}

    def plan(_number, path):
        if not offices(path):
            return None
        if "at" not in state:
            state["at"] = time.monotonic()
            return ("429", 1)
        if time.monotonic() - state["at"] < 1:
            return ("429", 1)
        return None

    with fault_proxy(source.url, plan) as proxy:
        run, _ = run_sync(client=client_for(proxy.url, source))
    assert run.status == SyncRun.Status.SUCCEEDED
    times = [t for t, path in proxy.log if offices(path)]
    assert times[1] - times[0] >= 1
    assert len(times) == 2


def test_500s_are_retried(source):
    # Without retries on 5xx, the first 500 ends the sync.
    count = {"n": 0}

    def plan(_number, path):
        if offices(path) and count["n"] < 2:
            count["n"] += 1
            return ("status", 503)
        return None

    with fault_proxy(source.url, plan) as proxy:
        run, syncer = run_sync(client=client_for(proxy.url, source))
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.counts["offices"]["created"] == 3
    assert len([p for p in proxy.paths() if offices(p)]) == 3
    assert run.requests == syncer.client.requests == len(proxy.log)


@pytest.mark.parametrize(
    "action", [("reset",), ("sleep", 2), ("truncate",)], ids=["reset", "timeout", "truncated"]
)
def test_resets_timeouts_and_truncated_json_are_retried(source, action):
    # Without retrying connection errors / timeouts / unreadable JSON, the sync fails.
    documents = lambda path: path.startswith("/v1/documents.json") and "limit=50" in path  # noqa: E731
    with fault_proxy(source.url, once(documents, action)) as proxy:
        run, _ = run_sync(client=client_for(proxy.url, source, timeout=1))
    assert run.status == SyncRun.Status.SUCCEEDED
    assert Document.objects.count() == 300


def test_a_clear_error_after_the_last_try_and_the_run_is_recorded(source):
    failing = fault_proxy(source.url, lambda _n, path: ("status", 500))
    with failing as proxy, pytest.raises(BsaleError) as caught:
        run_sync(client=client_for(proxy.url, source, tries=3))
    message = str(caught.value)
    assert "failed after 3 tries" in message and "500" in message and "/v1/offices.json" in message
    assert len(proxy.log) == 3
    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.FAILED and "failed after 3 tries" in run.errors
    assert run.finished_at is not None
    # The lock is released: the next run may start.
    run_sync(client=client_for(source.url, source))


def test_a_voided_document_is_caught_by_the_recheck_window(source, settings):
    # Without the re-check window (BSALE_RECHECK_DAYS ignored), the second, incremental
    # run starts at today and never re-reads the document voided days before it.
    settings.BSALE_RECHECK_DAYS = 7
    run_sync(client=client_for(source.url, source))
    today = dt.datetime.now(dt.UTC).date()
    pk = source.sql(
        "SELECT id FROM sales_document WHERE state = 0 AND emission_date BETWEEN ? AND ?"
        " ORDER BY emission_date DESC, id LIMIT 1",
        ((today - dt.timedelta(days=6)).isoformat(), (today - dt.timedelta(days=2)).isoformat()),
    )[0][0]
    assert Document.objects.get(pk=pk).state == 0
    source.sql("UPDATE sales_document SET state = 1 WHERE id = ?", (pk,))
    try:
        run, _ = run_sync(client=client_for(source.url, source))
        assert Document.objects.get(pk=pk).state == 1
        assert run.counts["documents"]["updated"] == 1
        assert run.counts["documents"]["created"] == 0
    finally:
        source.sql("UPDATE sales_document SET state = 0 WHERE id = ?", (pk,))


def test_a_page_that_shifts_during_the_walk_loses_nothing(source, settings):
    # A document inserted with a low id while the sync reads page 2 shifts every row
    # one place: page 2 repeats page 1's last row and the new one is never listed on
    # the pages read. Without the count check (and the walk again), it is missed.
    settings.BSALE_WINDOW_DAYS = 400  # one window holds every document: several pages
    start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=380)
    settings.BSALE_SYNC_START = start.isoformat()
    first = walk(source_getter(source), "/v1/documents.json?limit=1")[0]
    new_id = 999_000_001
    today = dt.datetime.now(dt.UTC).date()

    def insert():
        source.sql(
            "INSERT INTO sales_document (id, document_type_id, number, emission_date,"
            " generation_date, office_id, user_id, net_amount, tax_amount, exempt_amount,"
            " total_amount, state) VALUES (?, ?, 987654, ?, ?, ?, ?, 100, 19, 0, 119, 0)",
            (
                new_id,
                int(first["document_type"]["id"]),
                (today - dt.timedelta(days=1)).isoformat(),
                f"{today.isoformat()} 10:00:00",
                int(first["office"]["id"]),
                int(first["user"]["id"]),
            ),
        )

    second_page = lambda path: path.startswith("/v1/documents.json") and "offset=50" in path  # noqa: E731
    try:
        with fault_proxy(source.url, once(second_page, ("hook", insert))) as proxy:
            run, _ = run_sync(client=client_for(proxy.url, source))
        assert Document.objects.filter(pk=new_id).exists()
        assert Document.objects.count() == 301
        assert run.counts["documents"]["created"] == 301
    finally:
        source.sql("DELETE FROM sales_document WHERE id = ?", (new_id,))


def test_two_runs_never_overlap_and_a_dead_run_does_not_block(source, settings):
    running = SyncRun.objects.create(status=SyncRun.Status.RUNNING)
    with pytest.raises(SyncBusy, match="Another Bsale sync is running"):
        run_sync(client=client_for(source.url, source))
    # The same run, silent for longer than BSALE_SYNC_STALE_SECONDS: it died.
    SyncRun.objects.filter(pk=running.pk).update(
        heartbeat_at=running.heartbeat_at
        - dt.timedelta(seconds=settings.BSALE_SYNC_STALE_SECONDS + 1)
    )
    run, _ = run_sync(client=client_for(source.url, source))
    assert run.status == SyncRun.Status.SUCCEEDED
    running.refresh_from_db()
    assert running.status == SyncRun.Status.FAILED and "No sign of life" in running.errors


def test_resumes_at_the_page_a_crash_interrupted(source, settings):
    # A crash (here: the source stops answering) after some pages: those pages and the
    # checkpoint are kept; the next run starts at the page in flight, not at the start.
    settings.BSALE_WINDOW_DAYS = 400  # one window from BSALE_SYNC_START holds them all
    start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=380)
    settings.BSALE_SYNC_START = start.isoformat()
    broken = [True]

    def plan(_number, path):
        return ("status", 500) if broken[0] and "offset=100" in path else None

    with fault_proxy(source.url, plan) as proxy:
        with pytest.raises(BsaleError):
            run_sync(client=client_for(proxy.url, source, tries=2))
        assert Document.objects.count() == 100  # two whole pages, never half of one
        broken[0] = False
        del proxy.log[:]
        run, _ = run_sync(client=client_for(proxy.url, source))
    assert Document.objects.count() == 300
    document_reads = [p for p in proxy.paths() if p.startswith("/v1/documents.json?")]
    assert "offset=100" in document_reads[0], document_reads[:2]
    assert run.counts["documents"]["created"] == 200


def test_a_first_run_reads_documents_dated_long_ago_and_far_ahead(source):
    # Without the probe before BSALE_SYNC_START and the open-ended last window, a 2005
    # invoice and one dated three years ahead would never be read.
    first = walk(source_getter(source), "/v1/documents.json?limit=1")[0]
    today = dt.datetime.now(dt.UTC).date()
    dates = {999_000_101: dt.date(2005, 6, 1), 999_000_102: today + dt.timedelta(days=3 * 365)}
    for pk, day in dates.items():
        source.sql(
            "INSERT INTO sales_document (id, document_type_id, number, emission_date,"
            " generation_date, office_id, user_id, net_amount, tax_amount, exempt_amount,"
            " total_amount, state) VALUES (?, ?, ?, ?, ?, ?, ?, 100, 19, 0, 119, 0)",
            (
                pk,
                int(first["document_type"]["id"]),
                pk,
                day.isoformat(),
                f"{day.isoformat()} 10:00:00",
                int(first["office"]["id"]),
                int(first["user"]["id"]),
            ),
        )
    try:
        run_sync(client=client_for(source.url, source))
        assert set(Document.objects.filter(pk__in=dates).values_list("pk", flat=True)) == set(dates)
        assert Document.objects.count() == 302
    finally:
        source.sql("DELETE FROM sales_document WHERE id IN (999000101, 999000102)")
