"""``manage.py check_sales_totals``: compare the per-seller totals with the documents."""

from django.core.management.base import BaseCommand, CommandError

from sales.selectors import sales_totals_differences

SHOWN = 50


class Command(BaseCommand):
    help = (
        "Compare the sales totals with the documents they sum. Exit status 0 when they "
        "agree; 1, listing the sellers and days that differ, when they do (then run "
        "rebuild_sales_totals)."
    )

    def handle(self, *args, **options):
        differences = sales_totals_differences()
        if not differences:
            if options["verbosity"] > 0:
                self.stdout.write(self.style.SUCCESS("Sales totals agree with the documents."))
            return
        sellers = sorted({seller for _kind, _period, seller, _office, _type in differences})
        lines = [_line(*difference) for difference in differences[:SHOWN]]
        if len(differences) > SHOWN:
            lines.append(f"  ... and {len(differences) - SHOWN} more")
        raise CommandError(
            f"Sales totals differ from the documents for {len(sellers)} seller(s)"
            f" ({', '.join(map(str, sellers[:20]))}{', ...' if len(sellers) > 20 else ''}):\n"
            + "\n".join(lines)
            + "\nRun manage.py rebuild_sales_totals to recompute them.",
            returncode=1,
        )


def _line(kind: str, period: str, seller: int, office: int, dtype: int) -> str:
    if kind == "seller name":
        return f"  seller name: seller {seller} (missing, or not the user's name)"
    if kind.startswith("seller"):
        return f"  {kind} {period}: seller {seller} (all offices and types)"
    return f"  {kind} {period}: seller {seller}, office {office or '-'}, document type {dtype}"
