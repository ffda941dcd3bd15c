"""The largest allowed history, timed in-process: ``make bench-history``.

Creates a user whose history is at the per-user bound (SALES_HISTORY_MAX_ENTRIES_PER_USER)
in the configured database (DATABASE_URL; run ``manage.py migrate`` first), then times,
through Django's test client with a real token (no network, no server):

- ``GET /user?id=`` of that user (the whole history in the answer);
- a merge of one entry (the write answers the whole history too);
- a merge of 10,000 new entries that brings a half-full history to the bound;
- the merge that would pass the bound (the 400, nothing written).

Prints the median and the slowest of each, and the answer's size. The user and its
history are deleted at the end. docs/history.md keeps the figures.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time

import django


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    import orjson
    from django.conf import settings
    from django.contrib.auth.models import Permission
    from django.db import connection
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    from sales.models import SalesHistoryEntry
    from sales.services import MAX_HISTORY_ENTRIES, max_entries_per_user
    from users.models import AuditEntry, User

    bound = max_entries_per_user()
    runs = int(os.environ.get("RUNS", "7"))
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.API_THROTTLE_RATE = None

    def entries(count: int, start: int) -> list[dict]:
        base = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        return [
            {
                "nit": f"9001{i % 977:05d}-{i % 10}",
                "monto": (i % 100_000) + 0.5,
                "fecha": (base + dt.timedelta(minutes=i)).isoformat(),
                "emc": f"EMC {i % 13}",
            }
            for i in range(start, start + count)
        ]

    User.objects.filter(username__in=["bench-history-cap", "bench-history-client"]).delete()
    merchant = User.objects.create(username="bench-history-cap", phone="+573000000000")
    client_user = User.objects.create(username="bench-history-client")
    client_user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_sales_history"])
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(client_user)}")

    def post(body: dict):
        return client.post(
            "/update-user-sales-history",
            orjson.dumps({"user_id": str(merchant.uuid), **body}),
            content_type="application/json",
        )

    def timed(label: str, call, expect: int, setup=None) -> None:
        times, size = [], 0
        for _ in range(runs):
            if setup is not None:
                setup()
            started = time.perf_counter()
            response = call()
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == expect, response.content[:300]
            size = len(response.content)
        print(
            f"{label:<58} median {statistics.median(times):8.1f} ms"
            f"   max {max(times):8.1f} ms   {size / 1e6:6.2f} MB"
        )

    try:
        print(
            f"{connection.vendor}, bound {bound:,} entries per user, {runs} runs each "
            f"(Python {sys.version.split()[0]})"
        )
        half = bound - MAX_HISTORY_ENTRIES

        def to_half() -> None:
            SalesHistoryEntry.objects.filter(user=merchant).delete()
            for start in range(0, half, MAX_HISTORY_ENTRIES):
                count = min(MAX_HISTORY_ENTRIES, half - start)
                assert post({"history": entries(count, start)}).status_code == 200

        timed(
            f"merge {MAX_HISTORY_ENTRIES:,} new into {half:,} (reaches the bound)",
            lambda: post({"history": entries(MAX_HISTORY_ENTRIES, half)}),
            200,
            setup=to_half,
        )
        assert SalesHistoryEntry.objects.filter(user=merchant).count() == bound
        timed(
            f"GET /user at the bound ({bound:,} entries)",
            lambda: client.get("/user", {"id": str(merchant.uuid)}),
            200,
        )
        changed = iter(range(10**6))
        timed(
            "merge 1 changed entry at the bound (answers all)",
            lambda: post({"history": [{**entries(1, 0)[0], "monto": next(changed)}]}),
            200,
        )
        timed(
            "merge 1 new entry past the bound (400, nothing written)",
            lambda: post({"history": entries(1, bound)}),
            400,
        )
    finally:
        AuditEntry.objects.filter(user__in=[merchant, client_user]).delete()
        SalesHistoryEntry.objects.filter(user=merchant).delete()
        merchant.delete()
        client_user.delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
