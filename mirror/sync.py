"""The Bsale sync: read Bsale's lists through ``next`` and upsert them (docs/mirror.md).

Order follows the foreign keys: offices, document types, users (in full: they are
small), then documents by ``emissiondaterange`` windows from the checkpoint minus
``BSALE_RECHECK_DAYS``. Each page is upserted in one transaction with the checkpoint,
so a crash loses at most the page in flight and the next run resumes there.

A page walk can shift under us (a record inserted or removed while we read): every
walk dedupes by id and compares what it saw with the list's ``count``; when they
differ, it walks that list (or window) again, up to ``WALK_TRIES`` times.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from common.bsale.resources import date_to_unix
from common.errors import InvalidInput
from mirror.bsale_client import BsaleClient, BsaleError, BsaleNotFound
from mirror.models import SyncCheckpoint, SyncRun
from offices.models import Office
from offices.services import offices_upsert
from sales.models import DocumentType
from sales.services import (
    document_types_upsert,
    document_values,
    documents_missing_references,
    documents_referenced,
    documents_rows_upsert,
)
from users.models import User
from users.services import users_upsert

logger = logging.getLogger(__name__)

WALK_TRIES = 3
HEARTBEAT_SECONDS = 5  # the run's sign of life, at most this often (a page is ~0.1 s)
EPOCH = dt.date(1970, 1, 1)
FAR_FUTURE = dt.date(2100, 1, 1)  # the last window's end: documents dated ahead are read too
DOCUMENTS = "documents"
# resource -> (model, service)
SMALL_RESOURCES = {
    "offices": (Office, offices_upsert),
    "document_types": (DocumentType, document_types_upsert),
    "users": (User, users_upsert),
}
RESOURCES = (*SMALL_RESOURCES, DOCUMENTS)


class SyncBusy(Exception):
    """Another sync is running (on this host or another)."""


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    missing: int = 0  # here, but no longer in Bsale's list (left as they are)

    def add(self, counts: dict) -> None:
        self.created += counts["created"]
        self.updated += counts["updated"]
        self.unchanged += counts["unchanged"]

    def as_dict(self) -> dict:
        data = {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}
        if self.missing:
            data["missing"] = self.missing
        return data


@dataclass
class Progress:
    """A tqdm bar on a terminal, nothing elsewhere."""

    enabled: bool
    bar: object = None

    def start(self, label: str, total: int | None) -> None:
        self.close()
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=label, unit=" rows", file=sys.stderr, leave=False)

    def update(self, count: int, total: int | None = None) -> None:
        if self.bar is not None:
            if total is not None and total != self.bar.total:
                self.bar.total = total
                self.bar.refresh()
            self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@dataclass
class Syncer:
    client: BsaleClient
    dry_run: bool = False
    progress: Progress = field(default_factory=lambda: Progress(False))
    run: SyncRun | None = None
    tallies: dict[str, Tally] = field(default_factory=lambda: {r: Tally() for r in RESOURCES})
    warnings: list[str] = field(default_factory=list)
    # Ids known to be here, per referenced resource (filled by the full walks): a page
    # of documents asks the database only about the others.
    known: dict[str, set[int]] = field(default_factory=dict)
    _beat_at: float = 0.0

    # --- one page ------------------------------------------------------------------
    def _heartbeat(self) -> None:
        if self.run is not None and time.monotonic() - self._beat_at >= HEARTBEAT_SECONDS:
            SyncRun.objects.filter(pk=self.run.pk).update(
                heartbeat_at=timezone.now(), requests=self.client.requests
            )
            self._beat_at = time.monotonic()

    def upsert_small(self, resource: str, items: list[dict]) -> None:
        _model, service = SMALL_RESOURCES[resource]
        try:
            result = service(items=items, dry_run=self.dry_run)
        except ValueError as exc:
            raise BsaleError(
                f"Bsale sent a {resource} record this system cannot read: {exc}"
            ) from None
        for pk, why in result.skipped.items():
            self.warnings.append(f"{resource} {pk} skipped: {why}")
        self.tallies[resource].add(result.counts())

    def fetch_missing_references(self, rows: dict) -> None:
        """Documents may name an office, type or user created after we read its list:
        fetched and written before them. Afterwards every reference exists here."""
        for resource, ids in documents_missing_references(rows, known=self.known).items():
            known = self.known.setdefault(resource, set())
            known.update(documents_referenced(rows, resource) - ids)
            if not ids:
                continue
            items = []
            for pk in sorted(ids):
                try:
                    items.append(self.client.get(f"/v1/{resource}/{pk}.json"))
                except BsaleNotFound:
                    raise BsaleError(
                        f"A document names {resource} {pk}, which Bsale does not have."
                    ) from None
            self.upsert_small(resource, items)
            known.update(ids)

    def upsert_documents(self, items: list[dict], checkpoint: Callable[[], None] | None = None):
        try:
            rows = dict(document_values(item) for item in items)
        except ValueError as exc:
            raise BsaleError(f"Bsale sent a document this system cannot read: {exc}") from None
        try:
            with transaction.atomic():
                if not self.dry_run:
                    self.fetch_missing_references(rows)
                # References: just made sure of (a dry run's may be rows it did not write).
                result = documents_rows_upsert(
                    rows=rows, dry_run=self.dry_run, check_references=False
                )
                if checkpoint is not None and not self.dry_run:
                    checkpoint()
        except InvalidInput as exc:
            raise BsaleError(f"{exc.message} {exc.errors}") from None
        except IntegrityError as exc:  # PostgreSQL checks foreign keys at the commit
            raise BsaleError(f"Bsale's documents clash with rows here: {exc}") from None
        self.tallies[DOCUMENTS].add(result.counts())

    # --- walks -----------------------------------------------------------------------
    def walk(
        self,
        path: str,
        params: dict,
        on_page: Callable[[list[dict], int], None],
        *,
        label: str,
        offset: int = 0,
    ) -> set[int]:
        """Walk a list until what was seen matches its count; returns the ids seen."""
        for _attempt in range(WALK_TRIES):
            seen: set[int] = set()
            count = 0
            position = offset
            self.progress.start(label, None)
            for page in self.client.pages(path, params, offset=offset):
                items = page["items"]
                count = page.get("count", 0)
                position += len(items)
                fresh = []
                for item in items:
                    pk = item.get("id")
                    if pk not in seen:  # a shifted page repeats rows: write each once
                        seen.add(pk)
                        fresh.append(item)
                if fresh:
                    on_page(fresh, position)
                self._heartbeat()
                self.progress.update(len(items), count)
            if offset + len(seen) == count:
                return seen
            logger.warning(
                "%s changed while it was read (%d seen, %d listed); reading it again",
                label,
                offset + len(seen),
                count,
            )
            offset = 0  # a resumed window is read in full the second time
        raise BsaleError(f"{label} kept changing while it was read ({WALK_TRIES} tries).")

    def sync_small(self, resource: str) -> None:
        model, _service = SMALL_RESOURCES[resource]
        seen = self.walk(
            f"/v1/{resource}.json",
            {},
            lambda items, _pos: self.upsert_small(resource, items),
            label=resource,
        )
        # Bsale deactivates rather than deletes; a row it no longer lists is left as it is
        # (documents may point at it) and counted, so staff can look (docs/mirror.md).
        here = set(model.objects.values_list("pk", flat=True))
        self.tallies[resource].missing = len(here - {int(pk) for pk in seen})
        self.known[resource] = here

    def sync_documents(self, *, url: str, since: dt.date | None, full: bool) -> None:
        window_days = max(1, settings.BSALE_WINDOW_DAYS)
        today = timezone.now().astimezone(dt.UTC).date()
        state, _ = SyncCheckpoint.objects.get_or_create(resource=DOCUMENTS)
        if state.source_url != url:  # another account: its checkpoint means nothing here
            state.synced_until = state.window_start = state.window_end = None
            state.next_offset = 0
        offset = 0
        if since is not None:
            start = since
        elif full:
            start = self._first_day()
        elif state.window_start is not None:  # resume at the page a crash interrupted
            start, offset = state.window_start, state.next_offset
        elif state.synced_until is not None:  # re-read the last days: voids are caught
            start = state.synced_until - dt.timedelta(days=max(0, settings.BSALE_RECHECK_DAYS))
        else:
            start = self._first_day()
        while start <= today:
            year_end = start + dt.timedelta(days=365)
            if year_end < today and offset == 0 and self._empty(start, year_end):
                # A year without documents costs one request, not twelve (a first run
                # starts at BSALE_SYNC_START, often years before the account's first sale).
                self._advance(url, year_end)
                start = year_end + dt.timedelta(days=1)
                continue
            end = start + dt.timedelta(days=window_days - 1)
            last = end >= today
            if last:  # documents dated ahead (a due invoice typed early) are in the last window
                end = FAR_FUTURE
            self._sync_window(url, start, end, offset)
            offset = 0
            self._advance(url, min(end, today))
            start = end + dt.timedelta(days=1)

    def _first_day(self) -> dt.date:
        """``BSALE_SYNC_START``, or 1970 when the account has documents before it (one
        request to know; the empty years then cost one request each)."""
        start = dt.date.fromisoformat(settings.BSALE_SYNC_START)
        if start > EPOCH and not self._empty(EPOCH, start - dt.timedelta(days=1)):
            return EPOCH
        return start

    def _empty(self, start: dt.date, end: dt.date) -> bool:
        params = {"emissiondaterange": f"[{date_to_unix(start)},{date_to_unix(end)}]", "limit": 1}
        return self.client.get("/v1/documents.json", params).get("count") == 0

    def _advance(self, url: str, synced_until: dt.date) -> None:
        """A window is done: the checkpoint moves past it."""
        if not self.dry_run:
            SyncCheckpoint.objects.filter(resource=DOCUMENTS).update(
                source_url=url,
                synced_until=synced_until,
                window_start=None,
                window_end=None,
                next_offset=0,
                updated_at=timezone.now(),
            )

    def _sync_window(self, url: str, start: dt.date, end: dt.date, offset: int) -> None:
        params = {"emissiondaterange": f"[{date_to_unix(start)},{date_to_unix(end)}]"}

        def on_page(items: list[dict], position: int) -> None:
            def checkpoint() -> None:
                SyncCheckpoint.objects.filter(resource=DOCUMENTS).update(
                    source_url=url,
                    window_start=start,
                    window_end=end,
                    next_offset=position,
                    updated_at=timezone.now(),
                )

            self.upsert_documents(items, checkpoint)

        self.walk(
            "/v1/documents.json", params, on_page, label=f"documents {start}..{end}", offset=offset
        )

    def summary(self) -> dict:
        return {resource: tally.as_dict() for resource, tally in self.tallies.items()}


# --- the run, its lock and its record ------------------------------------------------


def _acquire(run_fields: dict) -> SyncRun:
    """The lock: the single ``running`` row (a partial unique index); stale ones are cleared."""
    stale = timezone.now() - dt.timedelta(seconds=settings.BSALE_SYNC_STALE_SECONDS)
    try:
        with transaction.atomic():
            SyncRun.objects.filter(status=SyncRun.Status.RUNNING, heartbeat_at__lt=stale).update(
                status=SyncRun.Status.FAILED,
                finished_at=timezone.now(),
                errors="No sign of life: the run died (host stopped or killed); lock released.",
            )
            return SyncRun.objects.create(**run_fields)
    except IntegrityError:
        running = SyncRun.objects.filter(status=SyncRun.Status.RUNNING).first()
        since = (
            f" since {running.started_at:%Y-%m-%d %H:%M:%S} UTC (run {running.pk})"
            if running
            else ""
        )
        raise SyncBusy(f"Another Bsale sync is running{since}; try again when it ends.") from None


@contextlib.contextmanager
def quick_commits():
    """PostgreSQL's ``synchronous_commit`` off for this session while the sync runs: a
    commit (one per page) does not wait for its WAL flush. A page and its checkpoint still
    commit together or not at all; a database crash may forget the last moments' pages,
    checkpoint included, and the next run reads them again."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def make_client(url: str | None = None, token: str | None = None, **kwargs) -> BsaleClient:
    return BsaleClient(
        url or settings.BSALE_API_URL, token or settings.BSALE_ACCESS_TOKEN, **kwargs
    )


def run_sync(
    *,
    client: BsaleClient,
    since: dt.date | None = None,
    full: bool = False,
    dry_run: bool = False,
    trigger: str = SyncRun.Trigger.COMMAND,
    started_by_id: int | None = None,
    progress: bool = False,
) -> tuple[SyncRun | None, Syncer]:
    """One sync. Returns the recorded run (None for a dry run, which writes nothing at all)
    and the syncer with its tallies. Raises ``SyncBusy`` or ``BsaleError``."""
    began = time.monotonic()
    syncer = Syncer(client=client, dry_run=dry_run, progress=Progress(progress))
    run = None
    if not dry_run:
        run = _acquire(
            {
                "trigger": trigger,
                "started_by_id": started_by_id,
                "source_url": client.base_url,
                "options": {"since": since.isoformat() if since else None, "full": full},
            }
        )
        syncer.run = run
    try:
        with quick_commits():
            for resource in SMALL_RESOURCES:
                syncer.sync_small(resource)
            syncer.sync_documents(url=client.base_url, since=since, full=full)
    except BaseException as exc:  # KeyboardInterrupt too: the run is recorded as failed
        syncer.progress.close()
        if run is not None:
            message = "Interrupted." if isinstance(exc, KeyboardInterrupt) else str(exc)
            SyncRun.objects.filter(pk=run.pk).update(
                status=SyncRun.Status.FAILED,
                finished_at=timezone.now(),
                counts=syncer.summary(),
                requests=client.requests,
                errors="\n".join([message, *syncer.warnings]),
            )
        raise
    syncer.progress.close()
    syncer.seconds = time.monotonic() - began
    if run is not None:
        SyncRun.objects.filter(pk=run.pk).update(
            status=SyncRun.Status.SUCCEEDED,
            finished_at=timezone.now(),
            counts=syncer.summary(),
            requests=client.requests,
            errors="\n".join(syncer.warnings),
        )
        run.refresh_from_db()
    return run, syncer


# --- one resource (webhooks) -----------------------------------------------------------

RESOURCE_PATH = re.compile(r"^/?v1/(offices|document_types|users|documents)/(\d{1,18})(?:\.json)?$")


def parse_resource_path(resource: str) -> tuple[str, int]:
    """``/v1/documents/123.json`` -> ("documents", 123); anything else is a ValueError.

    Only these four shapes: a webhook body names what to fetch, so it must never make
    the worker read another path (or another host) with the token.
    """
    path = (resource or "").strip()
    if path.startswith(("http://", "https://")):
        from urllib.parse import urlsplit

        path = urlsplit(path).path
    match = RESOURCE_PATH.match(path)
    if not match:
        raise ValueError(f"not a Bsale resource path this mirror reads: {resource!r}")
    return match.group(1), int(match.group(2))


def mirror_one(client: BsaleClient, resource: str, pk: int) -> dict:
    """Fetch one record and upsert it (and, for a document, what it references that is
    missing here). Idempotent: a replayed notification changes nothing."""
    item = client.get(f"/v1/{resource}/{pk}.json")
    syncer = Syncer(client=client)
    if resource == DOCUMENTS:
        syncer.upsert_documents([item])
    else:
        with transaction.atomic():
            syncer.upsert_small(resource, [item])
    return syncer.summary()[resource]
