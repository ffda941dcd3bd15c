"""``manage.py rebuild_sales_totals``: recompute the per-seller totals from the documents."""

import time

from django.core.management.base import BaseCommand, OutputWrapper
from tqdm import tqdm

from sales.services import rebuild_sales_totals


class Command(BaseCommand):
    help = (
        "Recompute the sales totals (per seller, office, day, month and document type) from "
        "the documents, month by month, in one transaction: readers see the old totals "
        "until it is done. Database triggers keep them exact afterwards; this is for a "
        "restore, or after check_sales_totals reports a difference."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **options):
        stream = self.stderr
        while isinstance(stream, OutputWrapper):
            stream = stream._out
        # A bar only on a terminal: logs and pipes get the one closing line.
        show = options["verbosity"] > 0 and not options["no_progress"] and stream.isatty()

        def progress(total: int):
            return tqdm(total=total, desc="months", unit=" months", file=stream, disable=not show)

        started = time.monotonic()
        rows = rebuild_sales_totals(progress=progress)
        if options["verbosity"] > 0:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Sales totals rebuilt: {rows:,} daily rows"
                    f" in {time.monotonic() - started:.1f} s."
                )
            )
