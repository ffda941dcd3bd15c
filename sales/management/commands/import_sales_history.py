"""``manage.py import_sales_history FILE [--dry-run] [--replace] [--format csv|jsonl]``.

Each line is one history entry of one user: ``user_id,nit,monto,fecha,emc`` (CSV with
a header row, or JSON Lines with those keys). The same rules as the Leancore API apply
to every entry, except the 10,000-entries-per-request limit.

1. Validation reads the whole file as a stream and reports every bad line by number
   (unknown user ids, looked up in bulk, and duplicate lines too). One bad line and
   nothing is written.
2. The write goes through ``sales_history_update`` per user, all users in ONE
   transaction (``--replace``: each mentioned user's history becomes exactly its lines).

Memory stays bounded on big files: validation keeps 16 bytes per line (a fingerprint
for the duplicate check and its line number) and the entries themselves only while
they are few; otherwise the file is read again per chunk of users
(``--chunk-entries`` entries at a time), inside the same transaction.
"""

from __future__ import annotations

import heapq
import io
import os
import uuid
from array import array
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.db import reset_queries, transaction

from common.commands import Command as BaseCommand
from common.errors import InvalidInput
from common.progress import progress_bar
from sales.history_import import (
    FORMATS,
    LOOKUP_BATCH,
    amount_parser_for,
    csv_records,
    jsonl_records,
    parse_record,
)
from sales.history_import import HistoryFileError as _FileError
from sales.services import (
    HistoryEntryData,
    history_key_digest,
    parse_user_uuid,
    sales_history_preview,
    sales_history_update,
)
from users.models import AuditEntry, User

PENDING_LINES = 20_000  # lines waiting for their user's lookup before it runs anyway
DEFAULT_CHUNK_ENTRIES = 200_000


class _Errors:
    """Bad-line messages: counts them all, keeps the ``limit`` lowest line numbers."""

    def __init__(self, limit: int):
        self.limit = limit
        self.count = 0
        self._heap: list[tuple[int, int, str]] = []  # (-line, -seq, message): a max-heap

    def add(self, line: int, message: str) -> None:
        self.count += 1
        item = (-line, -self.count, message)
        if not self.limit:
            self._heap.append(item)
        elif len(self._heap) < self.limit:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            heapq.heapreplace(self._heap, item)

    def sorted(self) -> list[str]:
        return [
            f"line {-line}: {message}" for line, _seq, message in sorted(self._heap, reverse=True)
        ]


class Command(BaseCommand):
    help = (
        "Import users' sales history from a CSV file (its first row a header naming the "
        "columns user_id,nit,monto,fecha,emc, in any order) or a JSON Lines file (one object "
        "with those keys per line). Validates every line first (nothing is written if "
        "one is bad), then writes everything in one transaction."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="a .csv, .jsonl or .ndjson file")
        parser.add_argument(
            "--format",
            choices=["csv", "jsonl"],
            help="the file's format (default: from its extension)",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="validate and report what would change; write nothing",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="each user in the file gets exactly the file's entries (others are deleted)",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="no progress bar (shown only on a terminal)"
        )
        parser.add_argument(
            "--max-errors",
            type=int,
            default=1000,
            help="report at most this many errors, the first lines' (0: all)",
        )
        parser.add_argument(
            "--chunk-entries",
            type=int,
            default=DEFAULT_CHUNK_ENTRIES,
            help="entries held in memory at once; a bigger file is read again per chunk of users",
        )

    # --- entry point ------------------------------------------------------------------

    def handle(self, *args, **options):
        path = Path(options["file"])
        fmt = options["format"] or FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise CommandError(
                f"Cannot tell the format of {path.name}: use a .csv, .jsonl or .ndjson "
                "name, or --format."
            )
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        if options["max_errors"] < 0:
            raise CommandError("--max-errors must be 0 (all) or more.")
        if options["chunk_entries"] <= 0:
            raise CommandError("--chunk-entries must be positive.")
        self.path = path
        self.fmt = fmt
        self.amount_parser = amount_parser_for(fmt)
        self.show_progress = not options["no_progress"] and options["verbosity"] > 0
        self.chunk_entries = options["chunk_entries"]
        self.stat = self._stat()

        try:
            report = self._validate(options["max_errors"])
            if report["errors"].count:
                for message in report["errors"].sorted():
                    self.stderr.write(message)
                shown = len(report["errors"].sorted())
                if shown < report["errors"].count:
                    self.stderr.write(f"... and {report['errors'].count - shown} more errors.")
                raise CommandError(
                    f"{report['errors'].count} error(s) in {path.name}; nothing was written."
                )
            counts = self._write(report, replace=options["replace"], dry_run=options["dry_run"])
        except _FileError as exc:
            raise CommandError(f"{path.name}: {exc}; nothing was written.") from None

        if options["verbosity"] > 0:
            self._summary(report, counts, dry_run=options["dry_run"], replace=options["replace"])

    # --- reading ----------------------------------------------------------------------

    def _stat(self) -> tuple[int, int]:
        st = os.stat(self.path)
        return (st.st_size, st.st_mtime_ns)

    def _check_unchanged(self) -> None:
        if self._stat() != self.stat:
            raise CommandError(f"{self.path.name} changed during the import; nothing was written.")

    def _count_lines(self) -> int:
        count = 0
        last = b"\n"
        with open(self.path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                count += chunk.count(b"\n")
                last = chunk[-1:]
        return count + (last != b"\n")

    def _records(self) -> Iterator[tuple[int, Any]]:
        """``(line number, record)``: a dict, or a str saying why the line is unreadable."""
        if self.fmt == "csv":
            yield from self._csv_records()
        else:
            yield from self._jsonl_records()

    def _csv_records(self) -> Iterator[tuple[int, Any]]:
        with open(self.path, encoding="utf-8-sig", newline="") as fh:
            yield from csv_records(fh)

    def _jsonl_records(self) -> Iterator[tuple[int, Any]]:
        with open(self.path, "rb") as fh:
            yield from jsonl_records(fh)

    def _parse(self, record: dict) -> tuple[uuid.UUID | None, HistoryEntryData | None, dict]:
        """One record: ``(user uuid, entry, errors by field)``; None where invalid."""
        return parse_record(record, amount_parser=self.amount_parser)

    def _progress(self, desc: str, total: int | None, unit: str = "line"):
        return progress_bar(
            stream=self.stderr,
            enabled=self.show_progress,
            total=total,
            desc=desc,
            unit=unit,
            unit_scale=True,
            leave=False,
            mininterval=0.5,
        )

    # --- pass 1: validation -------------------------------------------------------------

    def _validate(self, max_errors: int) -> dict:
        errors = _Errors(max_errors)
        users: dict[uuid.UUID, tuple[int, str] | None] = {}  # uuid -> (pk, username), None: unknown
        user_counts: dict[uuid.UUID, int] = {}
        unresolved: set[uuid.UUID] = set()
        pending: list[tuple[int, uuid.UUID]] = []
        digests, digest_lines = array("q"), array("Q")
        kept: dict[uuid.UUID, list[HistoryEntryData]] | None = {}
        lines = entries = 0

        def resolve() -> None:
            ids = list(unresolved)
            for start in range(0, len(ids), LOOKUP_BATCH):
                batch = ids[start : start + LOOKUP_BATCH]
                found = {
                    u: (pk, username)
                    for u, pk, username in User.objects.filter(uuid__in=batch).values_list(
                        "uuid", "pk", "username"
                    )
                }
                for user_uuid in batch:
                    users[user_uuid] = found.get(user_uuid)
            unresolved.clear()
            for line, user_uuid in pending:
                if users[user_uuid] is None:
                    errors.add(line, f"user_id: no user with id {user_uuid}")
            pending.clear()

        total = self._count_lines() if self.show_progress else None
        with self._progress("validating", total) as bar:
            for line, record in self._records():
                bar.update(line - bar.n)
                lines += 1
                if isinstance(record, str):
                    errors.add(line, record)
                    continue
                user_uuid, entry, field_errors = self._parse(record)
                for name, messages in field_errors.items():
                    for message in messages:
                        errors.add(line, f"{name}: {message}" if name else message)
                if user_uuid is not None:
                    known = users.get(user_uuid, ...)
                    if known is None:
                        errors.add(line, f"user_id: no user with id {user_uuid}")
                    elif known is ...:
                        unresolved.add(user_uuid)
                        pending.append((line, user_uuid))
                        if len(unresolved) >= LOOKUP_BATCH or len(pending) >= PENDING_LINES:
                            resolve()
                if user_uuid is None or entry is None:
                    continue
                entries += 1
                user_counts[user_uuid] = user_counts.get(user_uuid, 0) + 1
                digests.append(history_key_digest(user_uuid.int, entry))
                digest_lines.append(line)
                if kept is not None:
                    if entries <= self.chunk_entries:
                        kept.setdefault(user_uuid, []).append(entry)
                    else:
                        kept = None  # too many to hold: pass 2 reads the file again
            bar.update(max(0, (total or 0) - bar.n))
        resolve()
        self._check_duplicates(digests, digest_lines, errors)
        return {
            "errors": errors,
            "lines": lines,
            "entries": entries,
            "users": users,
            "user_counts": user_counts,
            "kept": kept,
        }

    def _check_duplicates(self, digests: array, digest_lines: array, errors: _Errors) -> None:
        """Two lines with the same (user_id, nit, fecha, emc): an error naming both.

        Fingerprints find candidates in memory; the candidate lines are then read again
        and compared on their real keys, so a fingerprint collision is never reported.
        """
        repeated = {a for a, b in pairwise(sorted(digests)) if a == b}
        if not repeated:
            return
        suspects = {digest_lines[i] for i, d in enumerate(digests) if d in repeated}
        first_line: dict[tuple, int] = {}
        for line, record in self._records():
            if line not in suspects:
                continue
            user_uuid, entry, _errors = self._parse(record)
            if entry is None:  # the file changed since it was validated
                raise CommandError(f"{self.path.name} changed during the import (line {line}).")
            key = (user_uuid, *entry.key)
            if key in first_line:
                errors.add(
                    line,
                    f"duplicates line {first_line[key]} (same user_id, nit, fecha and emc)",
                )
            else:
                first_line[key] = line

    # --- pass 2: writing ----------------------------------------------------------------

    def _user_chunks(self, report: dict) -> Iterator[list[uuid.UUID]]:
        """The file's users by pk (one lock order for every import), in chunks of entries."""
        users, counts = report["users"], report["user_counts"]
        ordered = sorted(counts, key=lambda u: users[u][0])
        chunk: list[uuid.UUID] = []
        size = 0
        for user_uuid in ordered:
            if chunk and size + counts[user_uuid] > self.chunk_entries:
                yield chunk
                chunk, size = [], 0
            chunk.append(user_uuid)
            size += counts[user_uuid]
        if chunk:
            yield chunk

    def _entries_of(self, chunk: list[uuid.UUID]) -> dict[uuid.UUID, list[HistoryEntryData]]:
        """Read the file again and keep the entries of ``chunk``'s users."""
        self._check_unchanged()
        wanted: dict[uuid.UUID, list[HistoryEntryData]] = {u: [] for u in chunk}
        for line, record in self._records():
            if isinstance(record, str):
                raise CommandError(f"{self.path.name} changed during the import (line {line}).")
            try:
                user_uuid = parse_user_uuid(record.get("user_id"))
            except ValueError:
                raise CommandError(
                    f"{self.path.name} changed during the import (line {line})."
                ) from None
            bucket = wanted.get(user_uuid)
            if bucket is None:
                continue
            _uuid, entry, errors = self._parse(record)
            if errors:
                raise CommandError(f"{self.path.name} changed during the import (line {line}).")
            bucket.append(entry)
        return wanted

    def _write(self, report: dict, *, replace: bool, dry_run: bool) -> dict[str, int]:
        totals = {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0}
        users = report["users"]
        kept = report["kept"]
        desc = "checking" if dry_run else "writing"

        def apply(write: Callable[..., dict[str, int]], **kwargs) -> None:
            with self._progress(desc, report["entries"], unit="entry") as bar:
                for chunk in self._user_chunks(report):
                    by_user = kept if kept is not None else self._entries_of(chunk)
                    for user_uuid in chunk:
                        pk, username = users[user_uuid]
                        entries = by_user[user_uuid]
                        try:
                            counts = write(
                                user=User(pk=pk, username=username),
                                entries=entries,
                                replace=replace,
                                **kwargs,
                            )
                        except InvalidInput as exc:  # e.g. the history's bound
                            raise CommandError(
                                f"User {user_uuid}: {exc} Nothing was written."
                            ) from None
                        except User.DoesNotExist:
                            raise CommandError(
                                f"User {user_uuid} was deleted during the import; "
                                "nothing was written."
                            ) from None
                        for key, value in counts.items():
                            totals[key] += value
                        bar.update(len(entries))
                        reset_queries()  # DEBUG keeps the last 9,000 statements, inserts included
                    if kept is None:
                        del by_user

        if dry_run:
            apply(sales_history_preview)
        else:
            with transaction.atomic():
                apply(sales_history_update, actor=None, source=AuditEntry.Source.COMMAND)
                self._check_unchanged()
        return totals

    def _summary(self, report: dict, counts: dict[str, int], *, dry_run: bool, replace: bool):
        out = io.StringIO()
        out.write(f"Lines read: {report['lines']:,} ({report['entries']:,} entries)\n")
        out.write(f"Users: {len(report['user_counts']):,}\n")
        mode = "replace" if replace else "merge"
        verb = "Would create" if dry_run else "Created"
        out.write(
            f"{verb}: {counts['created']:,}, updated: {counts['updated']:,}, "
            f"deleted: {counts['deleted']:,}, unchanged: {counts['unchanged']:,} ({mode})\n"
        )
        self.stdout.write(out.getvalue().rstrip("\n"))
        if dry_run:
            self.stdout.write(self.style.WARNING("Dry run: nothing was written."))
        else:
            self.stdout.write(self.style.SUCCESS("Imported in one transaction."))
