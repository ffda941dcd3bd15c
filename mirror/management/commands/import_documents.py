"""``manage.py import_documents FILE [--format csv|jsonl] [--dry-run]``: documents from a
file, through the mirror's upsert service; all or nothing (docs/mirror.md)."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction

from common.errors import InvalidInput
from mirror.document_import import REFERENCES, file_format, record_values, records
from sales.services import documents_rows_upsert, missing_ids

BATCH = 2000
MAX_ERRORS_SHOWN = 50


class _DryRunDone(Exception):
    pass


class Command(BaseCommand):
    help = "Import documents from a CSV or JSON Lines file (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV or JSON Lines file")
        parser.add_argument("--format", choices=["csv", "jsonl"], help="default: by extension")
        parser.add_argument("--dry-run", action="store_true", help="validate and count only")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def _progress(self, path: Path, label: str, enabled: bool):
        if not enabled:
            return None
        from tqdm import tqdm

        return tqdm(total=path.stat().st_size, desc=label, unit="B", unit_scale=True, leave=False)

    def _lines(self, path, kind, bar):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            position = 0
            for number, record in records(handle, kind):
                if bar is not None:
                    now = handle.buffer.tell() if hasattr(handle, "buffer") else position
                    bar.update(max(0, now - position))
                    position = now
                yield number, record

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        kind = file_format(path, options["format"])
        show = not options["no_progress"] and sys.stderr.isatty()

        # Pass 1: validate every line; keep only the referenced ids (bounded memory).
        errors: list[tuple[int, str]] = []
        first_line: dict[tuple[str, int], int] = {}  # each referenced id, once
        total = 0
        bar = self._progress(path, "checking", show)
        try:
            for number, record in self._lines(path, kind, bar):
                if isinstance(record, str):
                    errors.append((number, record))
                    continue
                try:
                    _pk, values = record_values(record)
                except ValueError as exc:
                    errors.append((number, str(exc)))
                    continue
                total += 1
                for column, resource in REFERENCES.items():
                    if values[column] is not None:
                        first_line.setdefault((resource, values[column]), number)
        except UnicodeDecodeError:
            raise CommandError("The file is not UTF-8 text.") from None
        finally:
            if bar is not None:
                bar.close()
        unknown = {
            resource: missing_ids(resource, (pk for (name, pk) in first_line if name == resource))
            for resource in REFERENCES.values()
        }
        if any(unknown.values()):
            # Every line naming an unknown record is an error: one more read to number them.
            labels = {"document_types": "document type", "offices": "office", "users": "seller"}
            for number, record in self._lines(path, kind, None):
                if isinstance(record, str):
                    continue
                try:
                    _pk, values = record_values(record)
                except ValueError:
                    continue
                for column, resource in REFERENCES.items():
                    if values[column] in unknown[resource]:
                        errors.append((number, f"unknown {labels[resource]} id {values[column]}"))
        if errors:
            errors.sort()
            for number, message in errors[:MAX_ERRORS_SHOWN]:
                self.stderr.write(f"line {number}: {message}")
            if len(errors) > MAX_ERRORS_SHOWN:
                self.stderr.write(f"... and {len(errors) - MAX_ERRORS_SHOWN} more")
            raise CommandError(f"{len(errors)} bad line(s) in {path}; nothing was imported.")

        # Pass 2: write in batches, all inside one transaction.
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        bar = self._progress(path, "importing", show)
        try:
            with transaction.atomic():
                batch: dict = {}
                first = None
                for number, record in self._lines(path, kind, bar):
                    pk, values = record_values(record)
                    batch[pk] = values
                    first = first or number
                    if len(batch) >= BATCH:
                        self._write(batch, counts, options["dry_run"], first, number)
                        batch, first = {}, None
                if batch:
                    self._write(batch, counts, options["dry_run"], first, number)
        finally:
            if bar is not None:
                bar.close()
        verb = "Would import" if options["dry_run"] else "Imported"
        self.stdout.write(
            f"{verb} {total} document lines: {counts['created']} created, "
            f"{counts['updated']} updated, {counts['unchanged']} unchanged."
        )

    def _write(self, batch, counts, dry_run, first, last):
        try:
            result = documents_rows_upsert(rows=batch, dry_run=dry_run)
        except (IntegrityError, InvalidInput) as exc:
            raise CommandError(
                f"lines {first}-{last}: {exc} (a number already used by another document of "
                "the same type?); nothing was imported."
            ) from None
        for name, value in result.counts().items():
            counts[name] += value
