"""``manage.py seed_demo``: realistic, deterministic, idempotent demo data (see sales/demo.py)."""

import time

from django.core.management.base import CommandError

from common.commands import Command as BaseCommand
from common.commands import non_negative_int, positive_int
from common.progress import progress_bar
from sales.demo import DemoSeeder, Sizes

# Defaults that scale: 250 documents per seller and 10 history entries per user, so that
# `--users 10` seeds a small database too (200 users, 20 sellers: 5,000 and 2,000).
DOCUMENTS_PER_SELLER = 250
HISTORY_PER_USER = 10


class Command(BaseCommand):
    help = (
        "Create realistic demo data: offices in Peru and Colombia, Bsale document types, "
        "users with Leancore profiles (about 1% of them sellers), documents with credit "
        "notes and void ones over the last 365 days, and sales history. The same --seed and "
        "sizes give the same data; running it again adds nothing."
    )

    def add_arguments(self, parser):
        defaults = Sizes()
        parser.add_argument("--seed", type=int, default=42, help="random seed")
        parser.add_argument(
            "--offices", type=non_negative_int, default=defaults.offices, help="offices"
        )
        parser.add_argument(
            "--users",
            type=non_negative_int,
            default=defaults.users,
            help="users (sellers included)",
        )
        parser.add_argument(
            "--sellers",
            type=non_negative_int,
            default=None,
            help="users who issue documents, at most --users (default: 1%% of users, "
            "at least 20, or all of them)",
        )
        parser.add_argument(
            "--documents",
            type=non_negative_int,
            default=None,
            help=f"documents (default: {DOCUMENTS_PER_SELLER} per seller)",
        )
        parser.add_argument(
            "--history",
            type=non_negative_int,
            default=None,
            help=f"sales history entries (default: {HISTORY_PER_USER} per user)",
        )
        parser.add_argument(
            "--batch-size", type=positive_int, default=5000, help="rows per INSERT and transaction"
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="no progress bars (shown only on a terminal)"
        )

    def handle(self, *args, **options):
        if options["sellers"] is not None and options["sellers"] > options["users"]:
            raise CommandError(
                f"--sellers {options['sellers']} is more than --users {options['users']}: "
                "sellers are users who issue documents (raise --users, or lower --sellers)."
            )
        people = Sizes(offices=0, users=options["users"], sellers=options["sellers"])
        documents, history = options["documents"], options["history"]
        sizes = Sizes(
            offices=options["offices"],
            users=options["users"],
            sellers=options["sellers"],
            documents=DOCUMENTS_PER_SELLER * people.seller_count
            if documents is None
            else documents,
            history=HISTORY_PER_USER * people.users if history is None else history,
        )
        if sizes.documents and not sizes.seller_count:
            raise CommandError("Documents need at least one seller (--users and --sellers > 0).")
        if sizes.history and not sizes.users:
            raise CommandError("Sales history needs users (--users > 0).")

        verbosity = options["verbosity"]
        show_progress = verbosity > 0 and not options["no_progress"]
        if verbosity > 0:
            self.stdout.write(
                f"Seeding (seed {options['seed']}): {sizes.offices:,} offices, "
                f"{sizes.users:,} users ({sizes.seller_count:,} sellers), "
                f"{sizes.documents:,} documents, {sizes.history:,} history entries."
            )

        def progress(description: str, total: int):
            return progress_bar(
                stream=self.stderr,
                enabled=show_progress and total > 0,
                total=total,
                desc=description,
                unit=" rows",
                unit_scale=True,
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
