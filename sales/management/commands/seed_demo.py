"""``manage.py seed_demo``: realistic, deterministic, idempotent demo data (see sales/demo.py)."""

import time

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from tqdm import tqdm

from sales.demo import DemoSeeder, Sizes


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = (
        "Create realistic demo data: offices in Peru and Colombia, Bsale document types, "
        "users with Leancore profiles (about 1% of them sellers), documents with credit "
        "notes and void ones over the last 365 days, and sales history. The same --seed and "
        "sizes give the same data; running it again adds nothing."
    )

    def add_arguments(self, parser):
        defaults = Sizes()
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument("--offices", type=_non_negative, default=defaults.offices)
        parser.add_argument("--users", type=_non_negative, default=defaults.users)
        parser.add_argument(
            "--sellers",
            type=_non_negative,
            default=None,
            help="Users who issue documents (default: 1%% of users, at least 20 or all).",
        )
        parser.add_argument("--documents", type=_non_negative, default=defaults.documents)
        parser.add_argument("--history", type=_non_negative, default=defaults.history)
        parser.add_argument(
            "--batch-size", type=_positive, default=5000, help="Rows per INSERT and transaction."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")

    def handle(self, *args, **options):
        sizes = Sizes(
            offices=options["offices"],
            users=options["users"],
            sellers=options["sellers"],
            documents=options["documents"],
            history=options["history"],
        )
        if sizes.documents and not sizes.seller_count:
            raise CommandError("Documents need at least one seller (--users and --sellers > 0).")
        if sizes.history and not sizes.users:
            raise CommandError("Sales history needs users (--users > 0).")

        verbosity = options["verbosity"]
        show_progress = verbosity > 0 and not options["no_progress"]
        # tqdm redraws its line with \r: it needs the raw stream, not Django's OutputWrapper,
        # which would add a newline to every write.
        stream = self.stderr
        while isinstance(stream, OutputWrapper):  # call_command(stderr=self.stderr) nests them
            stream = stream._out

        def progress(description: str, total: int):
            return tqdm(
                total=total,
                desc=description,
                unit=" rows",
                unit_scale=True,
                file=stream,
                disable=not show_progress or total == 0,
                leave=True,
                dynamic_ncols=True,
            )

        started = time.monotonic()
        seeder = DemoSeeder(
            seed=options["seed"], sizes=sizes, batch_size=options["batch_size"], progress=progress
        )
        stats = seeder.run()
        elapsed = time.monotonic() - started

        if verbosity > 0:
            created = ", ".join(f"{count:,} {name}" for name, count in stats.created.items())
            existing = ", ".join(
                f"{count:,} {name}" for name, count in stats.existing.items() if count
            )
            self.stdout.write(
                self.style.SUCCESS(
                    f"seed_demo (seed {options['seed']}, today {seeder.today.isoformat()}): "
                    f"created {created} in {elapsed:.1f} s."
                )
            )
            if stats.credit_notes or stats.void:
                self.stdout.write(
                    f"  of the new documents: {stats.credit_notes:,} credit notes, "
                    f"{stats.void:,} void."
                )
            if existing:
                self.stdout.write(f"  already there (skipped): {existing}.")
