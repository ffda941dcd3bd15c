"""``manage.py sales_summary``: the API's per-seller sales summary, in the terminal."""

import datetime as dt

from django.core.management.base import CommandError
from django.utils import timezone

from common.commands import Command as BaseCommand
from common.csv_export import SafeCsvWriter
from common.renderers import dumps, money_json
from offices.models import Office
from sales.selectors import SalesSummary, sales_summary
from users.models import User

HEADERS = ["id", "seller", "sales", "returns", "subtotal", "tax"]


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"'{value}' is not a date (use YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = "Per-seller sales minus returns for a date range: the same numbers as the API."

    def add_arguments(self, parser):
        parser.add_argument(
            "--start", type=str, help="first day, YYYY-MM-DD (default: today in TIME_ZONE)"
        )
        parser.add_argument("--end", type=str, help="last day, inclusive (default: today)")
        parser.add_argument("--user", type=int, help="only this seller (user id)")
        parser.add_argument("--office", type=int, help="only documents of this office (id)")
        parser.add_argument(
            "--format", choices=["table", "json", "csv"], default="table", help="output format"
        )

    def handle(self, *args, **options):
        today = timezone.localdate()
        start = _date(options["start"]) if options["start"] else today
        end = _date(options["end"]) if options["end"] else today
        if start > end:
            raise CommandError("--start is after --end.")
        if options["user"] is not None and not User.objects.filter(pk=options["user"]).exists():
            raise CommandError(f"There is no user with id {options['user']}.")
        if (
            options["office"] is not None
            and not Office.objects.filter(pk=options["office"]).exists()
        ):
            raise CommandError(f"There is no office with id {options['office']}.")
        summary = sales_summary(
            start=start, end=end, user_id=options["user"], office_id=options["office"]
        )
        {"table": self._table, "json": self._json, "csv": self._csv}[options["format"]](summary)

    def _rows(self, summary: SalesSummary) -> list[list]:
        return [
            [s.user_id, s.full_name, s.sales, s.returns, s.subtotal, s.tax_subtotal]
            for s in summary.sellers
        ]

    def _table(self, summary: SalesSummary) -> None:
        rows = [[str(cell) for cell in row] for row in self._rows(summary)]
        footer = ["", "TOTAL", "", "", str(summary.total), str(summary.tax_total)]
        widths = [max(len(r[i]) for r in [HEADERS, *rows, footer]) for i in range(len(HEADERS))]

        def line(cells):
            # Names left-aligned, numbers right-aligned.
            return "  ".join(
                c.ljust(w) if i == 1 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )

        rule = "  ".join("-" * w for w in widths)
        self.stdout.write(f"Sales summary {summary.start} .. {summary.end}")
        self.stdout.write(line(HEADERS))
        self.stdout.write(rule)
        for row in rows:
            self.stdout.write(line(row))
        self.stdout.write(rule)
        self.stdout.write(line(footer))
        self.stdout.write(f"{len(rows)} seller(s)")

    def _json(self, summary: SalesSummary) -> None:
        payload = {
            "startDate": summary.start.isoformat(),
            "endDate": summary.end.isoformat(),
            "total": money_json(summary.total),
            "taxTotal": money_json(summary.tax_total),
            "sellers": [
                {
                    "id": s.user_id,
                    "fullName": s.full_name,
                    "sales": money_json(s.sales),
                    "returns": money_json(s.returns),
                    "subtotal": money_json(s.subtotal),
                    "taxSubtotal": money_json(s.tax_subtotal),
                }
                for s in summary.sellers
            ],
        }
        self.stdout.write(dumps(payload).decode())

    def _csv(self, summary: SalesSummary) -> None:
        writer = SafeCsvWriter(self.stdout, lineterminator="\n")
        writer.writerow(HEADERS)
        writer.writerows(self._rows(summary))
