#!/usr/bin/env python
"""Fault injection: restart PostgreSQL under load; the service must ride it out alone.

    .venv/bin/python scripts/fault_pg_restart.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python scripts/fault_pg_restart.py

Bounded (under 2 minutes) and loopback only. It serves the app with gunicorn on a
throwaway PostgreSQL database (fault_<pid>, dropped at the end), runs a steady loop
of reads and history writes from a few threads, restarts the PostgreSQL cluster
mid-run (``pg_ctlcluster --skip-systemctl-redirect <version> main restart``: needs
root or the postgres user), keeps the load on, and reports:

- requests, 2xx, 503 and other errors: a 5xx other than 503 is a failure;
- whether the service recovered by itself (no gunicorn restart) and how fast;
- consistency: every write carries a unique tag on all of its entries; each tag must
  have all of them or none (nothing half-applied), every acknowledged (2xx) write
  must be there, and each write that landed has exactly one audit record.

The restart disturbs every database on the cluster: before it, the script waits
(up to 15 minutes) while a pytest run with a PostgreSQL DATABASE_URL is going on.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from soak import auth_headers, history_body, serve, workers_rss

from scripts.processes import exit_with, manage

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/postgres"
ENTRIES_PER_WRITE = 4
READ_THREADS, WRITE_THREADS = 4, 2

CONSISTENCY = """
import json, sys
from collections import Counter
from sales.models import SalesHistoryEntry
from users.models import AuditEntry
tags = Counter(
    SalesHistoryEntry.objects.filter(emc__startswith="fault-").values_list("emc", flat=True)
)
audits = Counter()
for after in AuditEntry.objects.filter(field="history").values_list("after", flat=True):
    for tag in {entry.get("emc") for entry in after or [] if isinstance(entry, dict)}:
        if tag and tag.startswith("fault-"):
            audits[tag] += 1
print(json.dumps({"entries": tags, "audits": audits}))
"""


def postgres_pytest_runs() -> list[str]:
    """pytest processes (not ours) whose DATABASE_URL is PostgreSQL."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if "pytest" not in cmdline:
                continue
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for item in environ:
            if item.startswith(b"DATABASE_URL=postgres"):
                found.append(f"{proc.name}: {cmdline[:120]}")
    return found


def wait_for_quiet_cluster(max_wait: float) -> bool:
    deadline = time.monotonic() + max_wait
    while runs := postgres_pytest_runs():
        if time.monotonic() >= deadline:
            print("PostgreSQL test runs still going on; not restarting the cluster:")
            for run in runs:
                print(f"  {run}")
            return False
        print(f"waiting: {len(runs)} pytest run(s) on PostgreSQL ({runs[0]}); rechecking in 60 s")
        time.sleep(60)
    return True


def restart_postgres() -> float:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    started = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return time.monotonic() - started


@dataclass
class Outcome:
    at: float
    kind: str  # "read" or "write"
    status: int | str
    tag: str | None = None


@dataclass
class Log:
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)


def loop(stack, kind: str, seed: int, stop: threading.Event, log: Log, t0: float) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    while not stop.is_set():
        pk, user_uuid = rng.choice(stack.users[:50])
        tag = None
        if kind == "write":
            tag = f"fault-{uuid.uuid4().hex[:16]}"
            body = history_body(user_uuid, rng, tag, ENTRIES_PER_WRITE)
            call = {
                "method": "POST",
                "url": f"{stack.base}/update-user-sales-history",
                "json": body,
            }
        else:
            path = rng.choice(
                [f"/v1/users/{pk}.json?expand=[office]", "/v1/documents.json?limit=20", "/user"]
            )
            params = {"id": user_uuid} if path == "/user" else None
            call = {"method": "GET", "url": stack.base + path, "params": params}
        try:
            response = session.request(**call, headers=auth_headers(stack.token, rng), timeout=30)
            status: int | str = response.status_code
            if status >= 500 and status != 503:
                print(f"  !! {status} on {call['method']} {call['url']}: {response.text[:200]}")
        except requests.RequestException as exc:
            status = type(exc).__name__
        log.add(Outcome(time.monotonic() - t0, kind, status, tag))
        time.sleep(0.01)


def summarize(log: Log, restart_at: float, restart_done: float, run_end: float) -> dict:
    statuses = Counter(o.status for o in log.outcomes)
    ok = sum(n for s, n in statuses.items() if isinstance(s, int) and 200 <= s < 300)
    unavailable = statuses.get(503, 0)
    other_5xx = sum(n for s, n in statuses.items() if isinstance(s, int) and s >= 500 and s != 503)
    other = sum(statuses.values()) - ok - unavailable - other_5xx
    recovered = {}
    for kind in ("read", "write"):
        after = [o for o in log.outcomes if o.kind == kind and o.at >= restart_done]
        first_ok = next((o.at for o in sorted(after, key=lambda o: o.at) if o.status == 200), None)
        tail = [o for o in after if o.at >= run_end - 10]
        recovered[kind] = {
            "first_2xx_after_restart_s": None
            if first_ok is None
            else round(first_ok - restart_done, 2),
            "last_10s_all_2xx": bool(tail) and all(o.status == 200 for o in tail),
        }
    during = Counter(o.status for o in log.outcomes if restart_at <= o.at <= restart_done + 5)
    return {
        "requests": len(log.outcomes),
        "2xx": ok,
        "503": unavailable,
        "other_5xx": other_5xx,
        "other_errors": other,
        "statuses": {str(k): v for k, v in sorted(statuses.items(), key=str)},
        "statuses_during_restart": {str(k): v for k, v in sorted(during.items(), key=str)},
        "recovered": recovered,
    }


def check_consistency(stack, log: Log) -> dict:
    data = json.loads(manage(stack.env, "shell", "-c", CONSISTENCY).strip().splitlines()[-1])
    entries, audits = Counter(data["entries"]), Counter(data["audits"])
    writes = [o for o in log.outcomes if o.kind == "write"]
    acknowledged = {o.tag for o in writes if o.status == 200}
    failed = {o.tag for o in writes if o.status != 200}
    partial = {tag: n for tag, n in entries.items() if n != ENTRIES_PER_WRITE}
    lost = sorted(tag for tag in acknowledged if entries.get(tag, 0) != ENTRIES_PER_WRITE)
    # A write whose commit reached the database just as the connection dropped may be
    # applied although its client saw a 503: allowed, as long as it is whole and audited.
    failed_but_applied = sorted(tag for tag in failed if entries.get(tag))
    audit_mismatch = sorted(tag for tag in entries if audits.get(tag, 0) != 1)
    unknown = sorted(set(entries) - acknowledged - failed)
    return {
        "writes_sent": len(writes),
        "writes_acknowledged": len(acknowledged),
        "writes_present": len(entries),
        "half_applied": len(partial),
        "acknowledged_but_missing": len(lost),
        "failed_but_applied_whole": len(failed_but_applied),
        "audit_records_mismatched": len(audit_mismatch),
        "present_but_never_sent": len(unknown),
        "consistent": not (partial or lost or audit_mismatch or unknown),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", type=float, default=15, help="load before the restart (s)")
    parser.add_argument("--after", type=float, default=40, help="load after the restart (s)")
    parser.add_argument("--max-wait", type=float, default=900, help="wait for pytest runs (s)")
    parser.add_argument(
        "--no-restart", action="store_true", help="dry run: the same load, no restart"
    )
    args = parser.parse_args()
    if args.before + args.after > 90:
        parser.error("--before + --after must stay under 90 s (the whole run under 2 minutes)")
    base_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE)
    if not base_url.startswith("postgres"):
        parser.error("DATABASE_URL must be PostgreSQL (postgres://...@127.0.0.1:5432/...)")
    if not args.no_restart and not wait_for_quiet_cluster(args.max_wait):
        return 2

    print(
        f"fault: {READ_THREADS} readers + {WRITE_THREADS} writers, restart after {args.before:.0f} s"
    )
    with serve(
        database_url=base_url,
        prefix="fault",
        workers=2,
        seed_args=["--offices", "5", "--users", "300", "--documents", "3000", "--history", "300"],
    ) as stack:
        workers_before = set(workers_rss(stack.master_pid))
        log, stop = Log(), threading.Event()
        t0 = time.monotonic()
        threads = [
            threading.Thread(target=loop, args=(stack, kind, i, stop, log, t0), daemon=True)
            for i, kind in enumerate(["read"] * READ_THREADS + ["write"] * WRITE_THREADS)
        ]
        for thread in threads:
            thread.start()
        time.sleep(args.before)
        restart_at = time.monotonic() - t0
        print(f"restarting PostgreSQL at t={restart_at:.1f} s ...")
        took = 0.0 if args.no_restart else restart_postgres()
        restart_done = time.monotonic() - t0
        print(f"PostgreSQL restarted in {took:.1f} s; load continues for {args.after:.0f} s")
        time.sleep(args.after)
        stop.set()
        for thread in threads:
            thread.join(timeout=40)
        run_end = time.monotonic() - t0
        same_workers = set(workers_rss(stack.master_pid)) == workers_before
        summary = summarize(log, restart_at, restart_done, run_end)
        summary["gunicorn_workers_unchanged"] = same_workers
        summary["consistency"] = check_consistency(stack, log)

    print(json.dumps(summary, indent=2))
    recovered = all(
        r["first_2xx_after_restart_s"] is not None and r["last_10s_all_2xx"]
        for r in summary["recovered"].values()
    )
    passed = summary["other_5xx"] == 0 and recovered and summary["consistency"]["consistent"]
    print(
        f"\nrequests {summary['requests']}, 2xx {summary['2xx']}, 503 {summary['503']}, "
        f"other 5xx {summary['other_5xx']}, other errors {summary['other_errors']}; "
        f"recovered by itself: {'yes' if recovered else 'NO'}; "
        f"consistent: {'yes' if summary['consistency']['consistent'] else 'NO'} -> "
        f"{'PASS' if passed else 'FAIL'}"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    exit_with(main)
