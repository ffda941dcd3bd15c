"""``manage.py sync_bsale [--url URL] [--token TOKEN] [--since YYYY-MM-DD] [--full] [--dry-run]``"""

import datetime as dt
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from mirror.bsale_client import BsaleError
from mirror.sync import RESOURCES, SyncBusy, make_client, run_sync


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since must be a date like 2025-01-31, not {value!r}.") from None


class Command(BaseCommand):
    help = (
        "Mirror a Bsale account: offices, document types, users and documents "
        "(incremental from the last checkpoint unless --full or --since)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", help="Bsale's API base (default: BSALE_API_URL); /v1 optional")
        parser.add_argument("--token", help="Bsale access token (default: BSALE_ACCESS_TOKEN)")
        parser.add_argument("--since", help="read documents emitted from this day (YYYY-MM-DD)")
        parser.add_argument("--full", action="store_true", help="re-read every document")
        parser.add_argument(
            "--dry-run", action="store_true", help="write nothing; count what would change"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        since = _date(options["since"]) if options["since"] else None
        if since and options["full"]:
            raise CommandError("--since and --full cannot be used together.")
        began = time.monotonic()
        try:
            client = make_client(options["url"], options["token"])
            run, syncer = run_sync(
                client=client,
                since=since,
                full=options["full"],
                dry_run=options["dry_run"],
                progress=not options["no_progress"] and sys.stderr.isatty(),
            )
        except (BsaleError, SyncBusy) as exc:
            raise CommandError(str(exc)) from None
        except KeyboardInterrupt:
            raise CommandError(
                "Interrupted; every page written so far is kept and the next run resumes."
            ) from None
        seconds = time.monotonic() - began
        summary = syncer.summary()
        title = "Dry run (nothing written)" if options["dry_run"] else f"Sync run {run.pk}"
        self.stdout.write(f"{title}: {client.base_url}")
        self.stdout.write(f"{'resource':<16}{'created':>10}{'updated':>10}{'unchanged':>11}")
        for resource in RESOURCES:
            counts = summary[resource]
            line = (
                f"{resource:<16}{counts['created']:>10}{counts['updated']:>10}"
                f"{counts['unchanged']:>11}"
            )
            if counts.get("missing"):
                line += f"   ({counts['missing']} here but no longer listed by Bsale: kept)"
            self.stdout.write(line)
        for warning in syncer.warnings:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(f"{client.requests} requests in {seconds:.1f} s")
