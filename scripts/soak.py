#!/usr/bin/env python
"""Soak test: the app under gunicorn, 32 concurrent clients, for a bounded time.

    .venv/bin/python scripts/soak.py                     # 300 s on a fresh SQLite file
    .venv/bin/python scripts/soak.py --seconds 60
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python scripts/soak.py
        # PostgreSQL: a throwaway database (soak_<pid>) on that server, dropped at the end
    .venv/bin/python scripts/soak.py --multi-host --seconds 120
        # through nginx to two gunicorn hosts on a PostgreSQL primary + standby made in a
        # temp dir (tests/deploy/stack.py); the standby is stopped and restarted mid-run

Loopback only: gunicorn binds 127.0.0.1 on a free port, and the database must be local.
Each client is a thread with its own keep-alive ``requests.Session``, sending a mix of
the Bsale reads, the Leancore read and history writes (``POST /update-user-sales-history``),
with the token in either header. Prints requests, errors, p50/p95/p99 latency per
endpoint, and the gunicorn workers' RSS (VmRSS) at the start and at the end.

The rate limit is raised for the run (one client sends everything), and worker
recycling (``max_requests``) is off so that a leak would show in the RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
# Run as a file (python scripts/soak.py): the repository's packages are importable too.
sys.path.insert(0, str(ROOT))

from scripts.processes import (  # noqa: E402
    ManageError,
    exit_with,
    manage,
    manage_env,
    throwaway_database,
)

GUNICORN = str(Path(sys.executable).parent / "gunicorn")
MAX_SECONDS = 3600

CLIENT_SETUP = """
import json
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken
from users.models import User
client, _ = User.objects.get_or_create(username="soak-client")
client.is_superuser = client.is_staff = True
client.save()
token = AccessToken.for_user(client)
token.set_exp(lifetime=timezone.timedelta(hours=6))
users = list(User.objects.exclude(pk=client.pk).order_by("pk").values_list("pk", "uuid")[:500])
sellers = list(
    User.objects.filter(documents__isnull=False).distinct().values_list("pk", flat=True)[:200]
)
print(json.dumps({
    "token": str(token),
    "users": [[pk, str(u)] for pk, u in users],
    "sellers": sellers,
}))
"""


# --- The stack: database, data, gunicorn ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_pids(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            pids.append(int(entry.name))
    return sorted(pids)


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def workers_rss(masters: list[int]) -> dict[int, int]:
    return {
        pid: kib
        for master in masters
        for pid in child_pids(master)
        if (kib := rss_kib(pid)) is not None
    }


@dataclass
class Stack:
    base: str
    token: str
    users: list[tuple[int, str]]
    sellers: list[int]
    master_pids: list[int]
    database_url: str
    log_path: Path
    env: dict = field(repr=False, default_factory=dict)
    verify: bool = True  # False through the multi-host stack's own TLS certificate


@contextlib.contextmanager
def serve(
    *,
    database_url: str | None,
    prefix: str,
    workers: int,
    seed_args: list[str],
    extra_env: dict[str, str] | None = None,
):
    """Migrate and seed a throwaway database, then serve it with gunicorn on loopback."""
    with throwaway_database(database_url, prefix) as url:
        env = manage_env(
            url,
            DJANGO_ENV="development",
            LOG_LEVEL="WARNING",
            GUNICORN_ACCESSLOG="",
            API_THROTTLE_RATE="100000000/300s",
            GUNICORN_MAX_REQUESTS="0",
            **(extra_env or {}),
        )
        started = time.monotonic()
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "seed_demo", "--no-progress", *seed_args, timeout=900)
        data = json.loads(manage(env, "shell", "-c", CLIENT_SETUP).strip().splitlines()[-1])
        print(f"setup: database ready in {time.monotonic() - started:.1f} s ({url.split(':')[0]})")
        port = free_port()
        env.update(GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers))
        log_path = Path(tempfile.mkdtemp(prefix=f"{prefix}-")) / "gunicorn.log"
        with open(log_path, "wb") as log_file:
            proc = subprocess.Popen(
                [GUNICORN, "-c", "config/gunicorn.py", "config.wsgi"],
                cwd=ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
            base = f"http://127.0.0.1:{port}"
            try:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                            break
                    except requests.RequestException:  # not listening yet, or still loading
                        pass
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"gunicorn did not start; see {log_path}")
                    time.sleep(0.2)
                while len(child_pids(proc.pid)) < workers and time.monotonic() < deadline:
                    time.sleep(0.2)
                yield Stack(
                    base=base,
                    token=data["token"],
                    users=[tuple(u) for u in data["users"]],
                    sellers=data["sellers"],
                    master_pids=[proc.pid],
                    database_url=url,
                    log_path=log_path,
                    env=env,
                )
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()


# --- Load ------------------------------------------------------------------------------------


def auth_headers(token: str, rng: random.Random) -> dict[str, str]:
    if rng.random() < 0.5:
        return {"Authorization": f"Bearer {token}"}
    return {"access_token": token}


def history_body(user_uuid: str, rng: random.Random, tag: str, entries: int = 5) -> dict:
    day = rng.randrange(1, 28)
    return {
        "user_id": user_uuid,
        "history": [
            {
                "nit": f"9001{rng.randrange(10**5):05d}-{i}",
                "monto": round(rng.uniform(0, 500000), 2),
                "fecha": f"2024-03-{day:02d}T10:{i:02d}:00-05:00",
                "emc": tag,
            }
            for i in range(entries)
        ],
    }


def request_mix(stack: Stack, rng: random.Random):
    """One request of the mix: (name, method, path, params, json body)."""
    pk, user_uuid = rng.choice(stack.users)
    seller = rng.choice(stack.sellers) if stack.sellers else pk
    end = int(time.time()) // 86400 * 86400
    start = end - 30 * 86400
    roll = rng.random()
    if roll < 0.18:
        return (
            "users list",
            "GET",
            "/v1/users.json",
            {"limit": 25, "offset": rng.randrange(0, 500)},
            None,
        )
    if roll < 0.30:
        return ("user detail", "GET", f"/v1/users/{pk}.json", {"expand": "[office]"}, None)
    if roll < 0.48:
        params = {
            "limit": 50,
            "expand": "[user.office,document_type]",
            "offset": rng.randrange(0, 2000),
        }
        return ("documents list", "GET", "/v1/documents.json", params, None)
    if roll < 0.56:
        params = {"emissiondaterange": f"[{start},{end}]"}
        return ("documents count", "GET", "/v1/documents/count.json", params, None)
    if roll < 0.64:
        params = {"startdate": start, "enddate": end}
        return ("sales summary", "GET", "/v1/users/sales_summary.json", params, None)
    if roll < 0.72:
        params = {"startdate": start, "enddate": end}
        return ("seller sales", "GET", f"/v1/users/{seller}/sales.json", params, None)
    if roll < 0.80:
        return ("leancore user", "GET", "/user", {"id": user_uuid}, None)
    if roll < 0.84:
        return ("offices", "GET", "/v1/offices.json", {}, None)
    tag = f"soak-{uuid.uuid4().hex[:12]}"
    return (
        "history write",
        "POST",
        "/update-user-sales-history",
        {},
        history_body(user_uuid, rng, tag),
    )


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, seconds: float, status: int | str) -> None:
        with self.lock:
            self.latencies[name].append(seconds)
            self.statuses[status] += 1
            if not (isinstance(status, int) and 200 <= status < 300):
                self.errors[f"{name}: {status}"] += 1


def client_loop(stack: Stack, seed: int, stop: threading.Event, results: Results) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    while not stop.is_set():
        name, method, path, params, body = request_mix(stack, rng)
        started = time.perf_counter()
        try:
            response = session.request(
                method,
                stack.base + path,
                params=params,
                json=body,
                headers=auth_headers(stack.token, rng),
                timeout=60,
                # Per request: REQUESTS_CA_BUNDLE in the environment would override a
                # Session's verify=False.
                verify=stack.verify,
            )
            status: int | str = response.status_code
        except requests.RequestException as exc:
            status = type(exc).__name__
        results.add(name, time.perf_counter() - started, status)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def report(results: Results, elapsed: float, rss_start: dict, rss_end: dict, samples) -> int:
    everything = [x for values in results.latencies.values() for x in values]
    total = len(everything)
    errors = sum(results.errors.values())
    print(f"\nrequests: {total} in {elapsed:.1f} s ({total / elapsed:.1f}/s)")
    print(f"errors:   {errors}" + (f"  {dict(results.errors)}" if errors else ""))
    print(f"statuses: {dict(sorted(results.statuses.items(), key=str))}")
    print(
        f"latency:  p50 {ms(percentile(everything, 0.50)).strip()} ms, "
        f"p95 {ms(percentile(everything, 0.95)).strip()} ms, "
        f"p99 {ms(percentile(everything, 0.99)).strip()} ms, max {ms(max(everything)).strip()} ms"
    )
    print(f"\n{'endpoint':<16} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name, values in sorted(results.latencies.items()):
        print(
            f"{name:<16} {len(values):>8} {ms(percentile(values, 0.5))} "
            f"{ms(percentile(values, 0.95))} {ms(percentile(values, 0.99))}"
        )
    print("\ngunicorn workers' RSS (VmRSS, MiB):")
    for label, rss in (("start", rss_start), ("end", rss_end)):
        per_worker = ", ".join(f"{pid}: {kib / 1024:.1f}" for pid, kib in sorted(rss.items()))
        print(f"  {label:<5} total {sum(rss.values()) / 1024:7.1f}  ({per_worker})")
    if samples:
        trail = "  ".join(f"{t:.0f}s={kib / 1024:.0f}" for t, kib in samples)
        print(f"  total over time: {trail}")
    if set(rss_start) != set(rss_end):
        print("  note: the worker set changed during the run (a worker was restarted)")
    return 1 if errors else 0


def run_load(stack: Stack, *, seconds: float, connections: int, seed: int = 1):
    results = Results()
    stop = threading.Event()
    threads = [
        threading.Thread(target=client_loop, args=(stack, seed + i, stop, results), daemon=True)
        for i in range(connections)
    ]
    # Warm every worker up (lazy imports, first connection, caches) with a few seconds of
    # the same load, so that the start RSS is a warm worker's and growth means a leak.
    warm_stop, warm_results = threading.Event(), Results()
    warmers = [
        threading.Thread(target=client_loop, args=(stack, -1 - i, warm_stop, warm_results))
        for i in range(min(connections, 8))
    ]
    for thread in warmers:
        thread.start()
    time.sleep(min(10.0, max(2.0, seconds / 10)))
    warm_stop.set()
    for thread in warmers:
        thread.join(timeout=70)
    rss_start = workers_rss(stack.master_pids)
    samples = []
    started = time.monotonic()
    for thread in threads:
        thread.start()
    next_sample = started + 10
    while (now := time.monotonic()) < started + seconds:
        if now >= next_sample:
            samples.append((now - started, sum(workers_rss(stack.master_pids).values())))
            next_sample += max(10, seconds / 10)
        time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(timeout=70)
    elapsed = time.monotonic() - started
    rss_end = workers_rss(stack.master_pids)
    return results, elapsed, rss_start, rss_end, samples


@contextlib.contextmanager
def serve_multi_host(*, workers: int, seed_args: list[str]):
    """nginx (deploy/nginx/salesdesk.conf) in front of two gunicorn hosts, a PostgreSQL
    primary and streaming standby, Redis: the stack of tests/deploy/test_multi_host.py."""
    import urllib3

    from tests.deploy.stack import StackError, multi_host_stack

    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    extra = {"API_THROTTLE_RATE": "100000000/300s", "GUNICORN_MAX_REQUESTS": "0"}
    try:
        with multi_host_stack(seed_args=seed_args, workers=workers, extra_env=extra) as stack:
            data = json.loads(manage(stack.env, "shell", "-c", CLIENT_SETUP).splitlines()[-1])
            yield (
                Stack(
                    base=stack.base,
                    token=data["token"],
                    users=[tuple(u) for u in data["users"]],
                    sellers=data["sellers"],
                    master_pids=[host.proc.pid for host in stack.hosts],
                    database_url=stack.pg.primary_url,
                    log_path=stack.hosts[0].log,
                    env=stack.env,
                    verify=False,
                ),
                stack,
            )
    except (StackError, ManageError) as exc:
        raise SystemExit(f"multi-host stack: {exc}") from None


def replica_outage(stack, seconds: float, stop: threading.Event) -> None:
    """Stops the standby a third of the way in, starts it again at two thirds."""
    started = time.monotonic()
    if stop.wait(seconds / 3):
        return
    stack.pg.stop_standby()
    print(f"  {time.monotonic() - started:5.1f} s: replica stopped")
    if stop.wait(seconds / 3):
        stack.pg.start_standby()
        return
    stack.pg.start_standby()
    print(f"  {time.monotonic() - started:5.1f} s: replica started again")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=300, help="load duration (default 300)")
    parser.add_argument(
        "--connections", type=int, default=32, help="concurrent clients (default 32)"
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--documents", type=int, default=50000)
    parser.add_argument(
        "--multi-host",
        action="store_true",
        help="through nginx to two gunicorn hosts on a PostgreSQL primary and standby (the "
        "standby is stopped and started again during the run); --workers is per host",
    )
    args = parser.parse_args()
    if not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be between 1 and {MAX_SECONDS}")

    seed_args = ["--offices", "20", "--users", str(args.users), "--documents", str(args.documents)]
    seed_args += ["--history", str(args.users)]
    print(
        f"soak: {args.connections} connections for {args.seconds:.0f} s, "
        f"{args.workers} gunicorn workers x {args.threads} threads"
    )
    if args.multi_host:
        with serve_multi_host(workers=args.workers, seed_args=seed_args) as (stack, multi):
            stop = threading.Event()
            outage = threading.Thread(target=replica_outage, args=(multi, args.seconds, stop))
            outage.start()
            try:
                outcome = run_load(stack, seconds=args.seconds, connections=args.connections)
            finally:
                stop.set()
                outage.join()
            log_errors = [
                line
                for host in multi.hosts
                for line in host.log.read_text(errors="replace").splitlines()
                if '"level": "ERROR"' in line or "Traceback" in line
            ]
        # A request that met the replica going down logs it, then runs again on the
        # primary (common.db_router): no client saw it. Counted, not failed.
        replica_lines = [line for line in log_errors if "Database unavailable" in line]
        print(
            f"\nreplica failures met by requests (each retried on the primary): "
            f"{len(replica_lines)}"
        )
        log_errors = [line for line in log_errors if line not in replica_lines]
        return _finish(outcome, stack, log_errors)
    with serve(
        database_url=os.environ.get("DATABASE_URL"),
        prefix="soak",
        workers=args.workers,
        seed_args=seed_args,
        extra_env={"GUNICORN_THREADS": str(args.threads)},
    ) as stack:
        outcome = run_load(stack, seconds=args.seconds, connections=args.connections)
        log_errors = [
            line
            for line in stack.log_path.read_text(errors="replace").splitlines()
            if '"level": "ERROR"' in line or "Traceback" in line
        ]
    return _finish(outcome, stack, log_errors)


def _finish(outcome, stack: Stack, log_errors: list[str]) -> int:
    code = report(*outcome)
    print(f"\nserver log: {stack.log_path} ({len(log_errors)} error lines)")
    for line in log_errors[:5]:
        print(f"  {line[:300]}")
    return code or (1 if log_errors else 0)


if __name__ == "__main__":
    exit_with(main)
