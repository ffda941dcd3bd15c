"""``make bench``: our API against the floor and the usual approach, on PostgreSQL.

1. The database (``DATABASE_URL``, default ``postgres://postgres@127.0.0.1:5432/salesdesk_bench``)
   is created and migrated if needed, and loaded with ``seed_demo`` once (100,000 users,
   1,000 sellers, 50 offices, 1,000,000 documents, 500,000 history entries; ``--documents``
   and ``--sellers`` change it: use a database of its own per size, e.g. ``salesdesk_bench_10m``,
   since seed_demo skips the folios already there). The seed's time is printed.
2. The summary's SQL, exactly as our code sends it (on the sales totals), is timed alone in
   ``psql``, and so is the raw aggregate over the documents it replaced.
3. gunicorn serves the app with the production config (config/gunicorn.py, one sync worker
   per core) and the bench settings (config/settings_bench.py), on 127.0.0.1; a second,
   identical one serves the usual approach (``Servers`` says why).
4. Every scenario is checked once (status, ``X-Query-Count``, floor bytes == ours, usual
   JSON == ours; queries constant in page size and expand), then driven by ``wrk``: a
   short warm-up, then ``--duration`` seconds, per variant (ours, floor, usual).
5. The admin pages are timed in-process (bench.admin_pages; ``--only admin`` runs them
   alone, without wrk or gunicorn).
6. The table, the ratios and the targets are printed and written to
   ``bench-results/bench-<time>.json`` (and ``bench-results/latest.json``).

Everything is bounded: wrk runs for fixed times on the loopback only, gunicorn is
stopped at the end (or on any error).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from bench import admin_pages
from scripts.processes import database_name, ensure_database, run_manage

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LUA = ROOT / "bench" / "lua"
RESULTS = ROOT / "bench-results"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/salesdesk_bench"
# Production keeps the rate-limit counters and the authentication cache in Redis.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"
SETTINGS = "config.settings_bench"
DATASET = {
    "users": 100_000,
    "sellers": 1_000,
    "offices": 50,
    "documents": 1_000_000,
    "history": 500_000,
}
SEED = 42
CLIENT_USERNAME = "bench-client"
CLIENT_PERMS = (
    "view_user",
    "view_office",
    "view_document",
    "view_documenttype",
    "change_sales_history",
)
HISTORY_USERS = 16
HISTORY_ENTRIES = 100
# "computed": ours with the summary cache off (bench.urls), what a summary costs after a write.
PREFIX = {
    "ours": "",
    "computed": "/bench/computed",
    "floor": "/bench/floor",
    "usual": "/bench/usual",
}
ADMIN_KEY = "admin"  # --only: the admin pages (bench.admin_pages)
HOST_HEADER = "127.0.0.1"


def log(message: str) -> None:
    print(f"[bench {dt.datetime.now(dt.UTC):%H:%M:%S}Z] {message}", flush=True)


# --- Database and dataset ---------------------------------------------------------------------


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def dataset_counts() -> dict[str, int]:
    from django.db import connection

    counts = {}
    with connection.cursor() as cursor:
        for key, table in (
            ("users", "users_user"),
            ("offices", "offices_office"),
            ("documents", "sales_document"),
            ("history", "sales_saleshistoryentry"),
        ):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            counts[key] = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(DISTINCT user_id) FROM sales_document")
        counts["sellers"] = cursor.fetchone()[0]
    return counts


def ensure_dataset(env: dict, seed_timing: dict) -> dict[str, int]:
    """Load the dataset with seed_demo unless it is there already (seed_demo is idempotent).
    ``seed_timing`` gets the seed's and the VACUUM's seconds when it loads."""
    counts = dataset_counts()
    wanted = ("users", "offices", "documents", "history")
    if all(counts[k] >= DATASET[k] for k in wanted):
        log(f"dataset present: {counts}")
        vacuum_if_never_done()
        return counts
    log(f"dataset incomplete {counts}: loading it with seed_demo (one time, several minutes)")
    options = [f"--{key}={value}" for key, value in DATASET.items()]
    started = time.monotonic()
    run_manage(env, "seed_demo", *options, f"--seed={SEED}", capture=False, timeout=None)
    seed_timing["seed_s"] = round(time.monotonic() - started, 1)
    started = time.monotonic()
    vacuum()
    seed_timing["vacuum_s"] = round(time.monotonic() - started, 1)
    counts = dataset_counts()
    log(
        f"dataset loaded: {counts} (seed_demo {seed_timing['seed_s']:.0f} s,"
        f" VACUUM ANALYZE {seed_timing['vacuum_s']:.0f} s)"
    )
    return counts


def vacuum() -> None:
    from django.db import connection

    log("VACUUM ANALYZE (visibility map and statistics after the load)")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def vacuum_if_never_done() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(last_vacuum, last_autovacuum) IS NULL,"
            " COALESCE(last_analyze, last_autoanalyze) IS NULL"
            " FROM pg_stat_user_tables WHERE relname = 'sales_document'"
        )
        row = cursor.fetchone()
    if row is None or row[0] or row[1]:
        vacuum()


# --- Fixtures: the API client, parameters ------------------------------------------------------


@dataclass
class Params:
    token: str
    detail_id: int
    seller_id: int
    end: dt.date
    start31: dt.date
    start365: dt.date
    history_uuids: list[str]

    @staticmethod
    def unix(day: dt.date) -> int:
        return (day - dt.date(1970, 1, 1)).days * 86400


def prepare_fixtures() -> Params:
    from django.contrib.auth.models import Permission
    from django.db import connection
    from django.db.models import Max
    from rest_framework_simplejwt.tokens import AccessToken

    from sales.models import Document
    from users.models import AuditEntry, User

    client, _ = User.objects.get_or_create(
        username=CLIENT_USERNAME,
        defaults={"first_name": "Bench", "last_name": "Client", "office": None},
    )
    if client.has_usable_password():
        client.set_unusable_password()
        client.save(update_fields=["password"])
    client.user_permissions.set(Permission.objects.filter(codename__in=CLIENT_PERMS))
    # The history scenario's audit rows from earlier runs (ours alone): keep the table steady.
    deleted, _ = AuditEntry.objects.filter(actor=client).delete()
    if deleted:
        log(f"removed {deleted} audit rows of earlier bench runs")
    token = AccessToken.for_user(client)
    token.set_exp(lifetime=dt.timedelta(hours=3))

    # Through the ORM: a date on SQLite too (the admin pages' test runs there).
    end = Document.objects.aggregate(end=Max("emission_date"))["end"]
    with connection.cursor() as cursor:
        start31 = end - dt.timedelta(days=30)
        # A typical seller of the last 31 days: the median one by number of sales.
        cursor.execute(
            "SELECT d.user_id FROM sales_document d"
            " JOIN sales_documenttype t ON t.id = d.document_type_id"
            " WHERE d.emission_date BETWEEN %s AND %s AND d.state = 0 AND t.use = 0"
            " AND d.user_id IS NOT NULL GROUP BY d.user_id ORDER BY COUNT(*), d.user_id",
            [start31, end],
        )
        sellers = [row[0] for row in cursor.fetchall()]
        # The user in the middle of the table (one with an office, when there are some).
        cursor.execute(
            "SELECT id FROM users_user ORDER BY office_id IS NULL, id"
            " LIMIT 1 OFFSET (SELECT COUNT(office_id) / 2 FROM users_user)"
        )
        detail_id = cursor.fetchone()[0]
        cursor.execute(
            "SELECT uuid FROM users_user WHERE is_active AND username <> %s ORDER BY id LIMIT %s",
            [CLIENT_USERNAME, HISTORY_USERS],
        )
        uuids = [str(row[0]) for row in cursor.fetchall()]
    return Params(
        token=str(token),
        detail_id=detail_id,
        seller_id=sellers[len(sellers) // 2],
        end=end,
        start31=start31,
        start365=end - dt.timedelta(days=364),
        history_uuids=uuids,
    )


# --- Scenarios -----------------------------------------------------------------------------------


@dataclass
class Scenario:
    key: str
    title: str
    path: str
    variants: tuple[str, ...] = ("ours", "floor", "usual")
    method: str = "GET"
    connections: int | None = None  # None: the run's default
    # Query-count checks: paths (ours) that must make as many queries as ``path``.
    same_queries: tuple[str, ...] = ()


# From this many documents the usual approach's summary (the ORM and Python over raw
# documents) outlasts a worker's timeout: it is left out; the floor and the SQL stay.
USUAL_SUMMARY_MAX_DOCUMENTS = 5_000_000


def scenarios(p: Params) -> list[Scenario]:
    s31, s365, end = p.unix(p.start31), p.unix(p.start365), p.unix(p.end)
    summary_variants = (
        ("ours", "computed", "floor")
        if DATASET["documents"] >= USUAL_SUMMARY_MAX_DOCUMENTS
        else ("ours", "computed", "floor", "usual")
    )
    docs = f"/v1/documents.json?emissiondaterange=[{s31},{end}]"
    sales = f"/v1/users/{p.seller_id}/sales.json?startdate={s31}&enddate={end}"
    return [
        Scenario(
            "users_list",
            "users list limit=50 expand=[office]",
            "/v1/users.json?limit=50&expand=[office]",
            same_queries=("/v1/users.json?limit=1", "/v1/users.json?limit=50"),
        ),
        Scenario(
            "user_detail",
            "user detail",
            f"/v1/users/{p.detail_id}.json",
            same_queries=(f"/v1/users/{p.detail_id}.json?expand=[office]",),
        ),
        Scenario(
            "documents_list",
            "documents 31 days limit=50 expand=3",
            f"{docs}&limit=50&expand=[document_type,office,user]",
            same_queries=(
                f"{docs}&limit=1",
                f"{docs}&limit=50",
                f"{docs}&limit=50&expand=[document_type,office,user.office]",
            ),
        ),
        Scenario(
            "summary_31",
            "sales summary 31 days",
            f"/v1/users/sales_summary.json?startdate={s31}&enddate={end}",
            variants=summary_variants,
            connections=1,
        ),
        Scenario(
            "summary_365",
            "sales summary 365 days",
            f"/v1/users/sales_summary.json?startdate={s365}&enddate={end}",
            variants=summary_variants,
            connections=1,
        ),
        Scenario(
            "user_sales",
            "user sales 31 days limit=50",
            f"{sales}&limit=50",
            same_queries=(f"{sales}&limit=1",),
        ),
        Scenario(
            "history_update",
            f"history update {HISTORY_ENTRIES} entries",
            "/update-user-sales-history",
            variants=("ours",),
            method="POST",
        ),
    ]


# --- HTTP ------------------------------------------------------------------------------------------


def http_request(port: int, method: str, path: str, token: str, body: bytes | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}", "Host": HOST_HEADER}
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), data


def history_body(uuid: str, entries: int, salt: int) -> bytes:
    history = [
        {
            "nit": f"900{j:04d}-7",
            "monto": round(salt + j / 100, 2),
            "fecha": f"2024-06-{(j % 28) + 1:02d}T10:30:00-05:00",
            "emc": f"Bench EMC {j % 7}",
        }
        for j in range(1, entries + 1)
    ]
    return json.dumps({"user_id": uuid, "history": history, "replace": False}).encode()


# --- gunicorn ----------------------------------------------------------------------------------------


class Server:
    """gunicorn with config/gunicorn.py, the bench settings, on a free loopback port."""

    def __init__(self, env: dict, workers: int):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(workers),
            # gunicorn's own access line off (Django's JSON access log stays on, as in
            # production); no worker recycling, so a leak would show in the RSS numbers.
            "GUNICORN_ACCESSLOG": "",
            "GUNICORN_MAX_REQUESTS": "0",
        }
        self.proc: subprocess.Popen | None = None
        self.notable: deque[str] = deque(maxlen=40)

    def start(self) -> None:
        gunicorn = Path(PYTHON).parent / "gunicorn"
        self.proc = subprocess.Popen(
            # No control socket: two masters run side by side (see Servers), and the
            # default path is one per user.
            [str(gunicorn), "-c", "config/gunicorn.py", "--no-control-socket", "config.wsgi"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz", headers={"Host": HOST_HEADER})
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("gunicorn did not start:\n" + "\n".join(self.notable))
            time.sleep(0.2)

    def _drain(self) -> None:
        # Django's access log writes a line per request: read and drop those, keep the rest.
        assert self.proc is not None and self.proc.stderr is not None
        for raw in self.proc.stderr:
            if b"salesdesk.access" not in raw:  # JSON or plain lines
                self.notable.append(raw.decode(errors="replace").rstrip())

    def workers(self) -> list[int]:
        assert self.proc is not None
        master = self.proc.pid
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    status = Path(f"/proc/{entry}/status").read_text()
                except OSError:
                    continue
                match = re.search(r"^PPid:\s+(\d+)", status, re.M)
                if match and int(match.group(1)) == master:
                    pids.append(int(entry))
        return sorted(pids)

    def memory(self) -> dict[int, dict[str, int]]:
        """Per worker: VmRSS and VmHWM (peak RSS) in KiB."""
        result = {}
        for pid in self.workers():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            values = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M))
            result[pid] = {k: int(v) for k, v in values.items()}
        return result

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Servers:
    """The app (ours and the floor) on one gunicorn; the usual approach on another.

    Same settings, same code, same number of workers: the usual approach only gets
    workers and database connections of its own. Its ORM summary over a year fetches a
    year of documents, and the PostgreSQL backend that ran it stays slower for a while
    (measured: the 31-day summary's p50 from 25 ms to 32 ms on that connection, for ours
    and for the floor alike, with twice the page faults; a new connection is fast
    again). Sharing connections, the reference would weigh on what it is compared with.
    Only one of the two servers is driven at a time.
    """

    def __init__(self, env: dict, workers: int):
        self.app = Server(env, workers)
        self.usual = Server(env, workers)
        while self.usual.port == self.app.port:
            self.usual = Server(env, workers)

    def port(self, variant: str) -> int:
        return (self.usual if variant == "usual" else self.app).port

    def start(self) -> None:
        self.app.start()
        self.usual.start()

    def stop(self) -> None:
        self.app.stop()
        self.usual.stop()

    @property
    def notable(self) -> list[str]:
        return [*self.app.notable, *self.usual.notable]


# --- wrk ---------------------------------------------------------------------------------------------


def wrk(
    port: int,
    path: str,
    token: str,
    *,
    seconds: float,
    connections: int,
    script: Path,
    script_args: tuple[str, ...] = (),
) -> dict:
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-H",
        f"Authorization: Bearer {token}",
        "-H",
        f"Host: {HOST_HEADER}",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}{path}",
    ]
    if script_args:
        command += ["--", *script_args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode != 0:  # once more: a connection reset on a busy machine
        log(f"wrk failed ({result.returncode}) on {path}, once more: {result.stderr.strip()}")
        result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode != 0:
        raise RuntimeError(
            f"wrk failed ({result.returncode}) on {path}:\n{result.stdout}\n{result.stderr}"
        )
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{result.stdout}\n{result.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    data["errors"] = sum(
        data[k]
        for k in ("connect_errors", "read_errors", "write_errors", "non_2xx_3xx", "timeouts")
    )
    return data


# --- psql ----------------------------------------------------------------------------------------------


def summary_sql(start: dt.date, end: dt.date, raw: bool = False) -> str:
    """The SQL our summary sends for [start, end], with its parameters inlined; ``raw``:
    the same summary aggregated from the documents (what it cost before the totals)."""
    from django.db import connection
    from django.test.utils import override_settings

    from sales.resources import sales_summary_json

    captured: list[tuple[str, object]] = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    # The cache off: the SQL that computes the summary, not the check of a kept one.
    with connection.execute_wrapper(capture), override_settings(SALES_SUMMARY_CACHE_MB=0):
        sales_summary_json(start=start, end=end, base_url=f"http://{HOST_HEADER}", raw=raw)
    if len(captured) != 1:
        raise RuntimeError(f"the summary made {len(captured)} queries, not one")
    sql, params = captured[0]
    return connection.ops.compose_sql(sql, params)


def psql_timings(database_url: str, sql: str, runs: int) -> list[float]:
    """Run ``sql`` ``runs`` times in psql (after one untimed run); milliseconds each."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write("\\o /dev/null\n" + f"{sql};\n" + "\\timing on\n")
        script.write(f"{sql};\n" * runs)
    try:
        result = subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", database_url, "-f", script.name],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
    finally:
        os.unlink(script.name)
    return [float(m) for m in re.findall(r"^Time: ([\d.]+) ms", result.stdout, re.M)]


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


# --- The run --------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    scenario: Scenario
    queries: dict[str, int] = field(default_factory=dict)
    checks: dict[str, object] = field(default_factory=dict)
    runs: dict[str, dict] = field(default_factory=dict)


def preflight(servers: Servers, params: Params, scenario: Scenario) -> Outcome:
    outcome = Outcome(scenario)
    token = params.token
    # The token's first request loads its user into the authentication cache (one
    # query more); the counts below are those of every request after it.
    for variant in scenario.variants:
        http_request(servers.port(variant), "GET", "/v1/users.json?limit=1", token)
    if scenario.method == "POST":
        uuid = params.history_uuids[0]
        salt = int(time.time()) % 100000
        status, headers, _ = http_request(
            servers.port("ours"),
            "POST",
            scenario.path,
            token,
            history_body(uuid, HISTORY_ENTRIES, salt),
        )
        if status != 200:
            raise RuntimeError(f"{scenario.key}: POST answered {status}")
        outcome.queries["ours"] = int(headers["X-Query-Count"])
        status, headers, _ = http_request(
            servers.port("ours"), "POST", scenario.path, token, history_body(uuid, 1, salt + 1)
        )
        outcome.checks["queries_1_entry"] = int(headers["X-Query-Count"])
        outcome.checks["constant_queries"] = (
            outcome.checks["queries_1_entry"] == outcome.queries["ours"]
        )
        return outcome

    for variant in scenario.variants:  # and each path's first run
        http_request(servers.port(variant), "GET", PREFIX[variant] + scenario.path, token)
    bodies = {}
    for variant in scenario.variants:
        status, headers, body = http_request(
            servers.port(variant), "GET", PREFIX[variant] + scenario.path, token
        )
        if status != 200:
            raise RuntimeError(f"{scenario.key}/{variant}: {status} {body[:300]!r}")
        outcome.queries[variant] = int(headers["X-Query-Count"])
        bodies[variant] = body
    if "floor" in bodies:
        outcome.checks["floor_bytes_equal"] = bodies["floor"] == bodies["ours"]
    if "computed" in bodies:
        outcome.checks["computed_bytes_equal"] = bodies["computed"] == bodies["ours"]
    if "usual" in bodies:
        outcome.checks["usual_json_equal"] = json.loads(bodies["usual"]) == json.loads(
            bodies["ours"]
        )
    counts = {scenario.path: outcome.queries["ours"]}
    for path in scenario.same_queries:
        _, headers, _ = http_request(servers.port("ours"), "GET", path, token)
        counts[path] = int(headers["X-Query-Count"])
    outcome.checks["queries_by_request"] = counts
    outcome.checks["constant_queries"] = len(set(counts.values())) == 1
    return outcome


def drive(
    servers: Servers,
    params: Params,
    outcome: Outcome,
    variant: str,
    args,
    seconds,
    connections: int | None = None,
) -> dict:
    scenario = outcome.scenario
    connections = connections or scenario.connections or args.connections
    if scenario.method == "POST":
        return settle(
            wrk(
                servers.port("ours"),
                scenario.path,
                params.token,
                seconds=seconds,
                connections=connections,
                script=LUA / "history.lua",
                script_args=(str(HISTORY_ENTRIES), *params.history_uuids),
            )
        )
    return settle(
        wrk(
            servers.port(variant),
            PREFIX[variant] + scenario.path,
            params.token,
            seconds=seconds,
            connections=connections,
            script=LUA / "report.lua",
        )
    )


def settle(run: dict) -> dict:
    """Wait out the requests still in flight when wrk stops.

    wrk stops sending, but the server still works on up to one request per connection,
    each as slow as the run's slowest. Without the wait they delay the next variant's
    first requests: the rounds go ours, floor, usual, so ours paid for the usual
    approach's leftovers (seen: ours' p99 at 270 ms on the documents list, against 90 ms
    when driven alone).
    """
    time.sleep(min(run["max_us"] / 1e6 * 1.2 + 0.05, 5.0))
    return run


def measure(servers: Servers, params: Params, outcome: Outcome, args, baseline: dict) -> None:
    """Warm up each variant, then ``--rounds`` rounds of ours, floor, usual in turn.

    Interleaving the variants (and, for the summary, the SQL alone in psql while the
    server is idle) exposes them to the same background load, so the ratios hold even
    when the machine is not quiet. Throughput is all requests over all rounds; p50/p99
    are the medians of the rounds' values.
    """
    scenario = outcome.scenario
    rounds = max(1, args.rounds)
    for variant in scenario.variants:
        drive(servers, params, outcome, variant, args, args.warmup)
    per_round: dict[str, list[dict]] = {v: [] for v in scenario.variants}
    alone = baseline.get(scenario.key)
    for _ in range(rounds):
        for variant in scenario.variants:
            per_round[variant].append(
                drive(servers, params, outcome, variant, args, args.duration / rounds)
            )
        if alone is not None:
            runs = max(3, args.psql_runs // rounds)
            alone["runs_ms"] += psql_timings(args.database_url, alone["sql"], runs)
            # The raw aggregate is slow: a third of the runs (at least one) per round.
            raw_runs = max(1, runs // 3)
            alone["raw_runs_ms"] += psql_timings(args.database_url, alone["raw_sql"], raw_runs)
    for variant, runs in per_round.items():
        merged = {
            "rounds": runs,
            "requests": sum(r["requests"] for r in runs),
            "duration_us": sum(r["duration_us"] for r in runs),
            "errors": sum(r["errors"] for r in runs),
            "p50_us": statistics.median(r["p50_us"] for r in runs),
            "p99_us": statistics.median(r["p99_us"] for r in runs),
        }
        merged["rps"] = merged["requests"] / (merged["duration_us"] / 1e6)
        outcome.runs[variant] = merged
        log(
            f"{scenario.key:<15} {variant:<6} {merged['rps']:8.1f} req/s"
            f"  p50 {merged['p50_us'] / 1000:7.2f} ms  p99 {merged['p99_us'] / 1000:7.2f} ms"
            + (f"  {merged['errors']} ERRORS" if merged["errors"] else "")
        )
    if alone is not None:
        alone["p50_ms"] = statistics.median(alone["runs_ms"])
        alone["raw_p50_ms"] = statistics.median(alone["raw_runs_ms"])
        log(
            f"{scenario.key:<15} psql   SQL alone p50 {alone['p50_ms']:.2f} ms,"
            f" raw aggregate over the documents p50 {alone['raw_p50_ms']:.2f} ms"
        )


def ratio(a: float | None, b: float | None) -> float | None:
    return None if not a or not b else a / b


def evaluate(outcomes: dict[str, Outcome], baseline: dict, memory: dict) -> list[dict]:
    """The issue's targets, each with what was measured and whether it holds."""
    targets = []

    def add(name: str, measured, required: str, ok: bool | None, unit: str = "x") -> None:
        shown = "n/a" if measured is None else f"{measured:.2f}{unit}"
        targets.append({"target": name, "measured": shown, "required": required, "ok": ok})

    def rps(key: str, variant: str) -> float | None:
        run = outcomes[key].runs.get(variant)
        return run["rps"] if run else None

    def present(*keys: str) -> bool:
        return all(key in outcomes for key in keys)

    for key, floor_min, usual_min in (
        ("users_list", 0.8, 1.6),
        ("documents_list", 0.8, 1.6),
        ("user_detail", 0.8, None),
    ):
        if not present(key):
            continue
        r = ratio(rps(key, "ours"), rps(key, "floor"))
        add(f"{key}: ours/floor", r, f">= {floor_min}x", r is not None and r >= floor_min)
        if usual_min:
            r = ratio(rps(key, "ours"), rps(key, "usual"))
            add(f"{key}: ours/usual", r, f">= {usual_min}x", r is not None and r >= usual_min)
    for key in ("summary_31", "summary_365"):
        if not present(key):
            continue
        run = outcomes[key].runs.get("ours")
        p50 = run["p50_us"] / 1000 if run else None
        alone = baseline.get(key, {}).get("p50_ms")
        r = ratio(p50, alone)
        add(f"{key}: ours p50 / SQL alone in psql", r, "<= 1.3x", r is not None and r <= 1.3)
        raw = baseline.get(key, {}).get("raw_p50_ms")
        r = ratio(p50, raw)
        add(f"{key}: ours p50 / raw SQL in psql", r, "<= 0.2x", r is not None and r <= 0.2)
        limit = {"summary_31": 10, "summary_365": 25}[key]
        add(
            f"{key}: ours p50 (target at 10M documents)",
            p50,
            f"<= {limit} ms",
            p50 is not None and p50 <= limit,
            unit=" ms",
        )
        q = outcomes[key].queries.get("ours")
        add(f"{key}: queries", q, "== 1", q == 1, unit="")
        computed = outcomes[key].runs.get("computed")
        if computed:  # shown, not a target: every request after a write pays it
            p50 = computed["p50_us"] / 1000
            add(f"{key}: computed p50 / raw SQL in psql (info)", ratio(p50, raw), "-", None)
    hist = outcomes.get("history_update")
    if hist and hist.runs.get("ours"):
        eps = hist.runs["ours"]["rps"] * HISTORY_ENTRIES
        add("history_update: entries/s", eps, ">= 10000", eps >= 10_000, unit="")
        add(
            "history_update: queries constant (1 vs 100 entries)",
            None,
            f"{hist.checks['queries_1_entry']} == {hist.queries['ours']}",
            bool(hist.checks.get("constant_queries")),
        )
    for key, outcome in outcomes.items():
        if key == "history_update":
            continue
        counts = outcome.checks.get("queries_by_request", {})
        if len(counts) > 1:
            add(
                f"{key}: queries constant in page size and expand",
                None,
                " / ".join(str(v) for v in counts.values()),
                bool(outcome.checks.get("constant_queries")),
            )
        if "floor_bytes_equal" in outcome.checks:
            add(
                f"{key}: floor bytes == ours",
                None,
                "identical",
                bool(outcome.checks["floor_bytes_equal"]),
            )
        if "computed_bytes_equal" in outcome.checks:
            add(
                f"{key}: computed bytes == ours (served again)",
                None,
                "identical",
                bool(outcome.checks["computed_bytes_equal"]),
            )
    growth = memory.get("peak_growth_kib")
    if growth is not None:
        add(
            "worker peak RSS growth, repeat pass after the run",
            growth / 1024,
            "<= 2 MiB",
            growth <= 2048,
            unit=" MiB",
        )
    return targets


def print_table(outcomes: dict[str, Outcome], baseline: dict, memory: dict) -> None:
    if not outcomes:
        return
    header = (
        f"{'scenario':<38} {'variant':<7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'queries':>7} {'ours/floor':>10} {'ours/usual':>10}"
    )
    print()
    print(header)
    print("-" * len(header))
    for key, outcome in outcomes.items():
        title = outcome.scenario.title
        c = outcome.scenario.connections
        if c:
            title += f" (c={c})"
        ours = outcome.runs.get("ours", {}).get("rps")
        for i, variant in enumerate(outcome.scenario.variants):
            run = outcome.runs.get(variant)
            if not run:
                continue
            floor_r = usual_r = ""
            if variant == "ours":
                f = ratio(ours, outcome.runs.get("floor", {}).get("rps"))
                u = ratio(ours, outcome.runs.get("usual", {}).get("rps"))
                floor_r = f"{f:.2f}x" if f else ""
                u_text = f"{u:.2f}x" if u else ""
                usual_r = u_text
            errors = f"  ({run['errors']} errors)" if run["errors"] else ""
            print(
                f"{title if i == 0 else '':<38} {variant:<7} {run['rps']:>9.1f}"
                f" {run['p50_us'] / 1000:>8.2f} {run['p99_us'] / 1000:>8.2f}"
                f" {outcome.queries.get(variant, ''):>7} {floor_r:>10} {usual_r:>10}{errors}"
            )
        if key == "history_update" and ours:
            print(f"{'':<38} {'':<7} = {ours * HISTORY_ENTRIES:,.0f} entries/s")
        if key in baseline:
            b = baseline[key]
            ours_p50 = outcome.runs.get("ours", {}).get("p50_us", 0) / 1000
            print(
                f"{'':<38} {'psql':<7} {'':>9} {b['p50_ms']:>8.2f} {'':>8} {1:>7}"
                f"   ours p50 / psql p50 = {ours_p50 / b['p50_ms']:.2f}x"
            )
            print(
                f"{'':<38} {'raw SQL':<7} {'':>9} {b['raw_p50_ms']:>8.2f} {'':>8} {1:>7}"
                f"   ours p50 / raw SQL p50 = {ours_p50 / b['raw_p50_ms']:.2f}x"
            )
    print()
    if memory.get("workers"):
        print(
            "worker memory (MiB)  RSS after warm-up -> at the end;"
            " peak RSS after warm-up -> after the measured run -> after a repeat pass"
        )
        for pid, m in memory["workers"].items():
            print(
                f"    pid {pid}: RSS {m['rss_start'] / 1024:.1f} -> {m['rss_end'] / 1024:.1f};"
                f" peak {m['hwm_start'] / 1024:.1f} -> {m['hwm_settled'] / 1024:.1f}"
                f" -> {m['hwm_end'] / 1024:.1f}"
            )
        print()


def print_targets(targets: list[dict]) -> None:
    if not targets:
        return
    width = max(len(t["target"]) for t in targets) + 2
    print(f"{'target':<{width}} {'measured':>12} {'required':>14}  result")
    for t in targets:
        result = "info" if t["ok"] is None else "PASS" if t["ok"] else "FAIL"
        print(f"{t['target']:<{width}} {t['measured']:>12} {t['required']:>14}  {result}")
    print()


def serve_and_measure(
    env: dict, args, params: Params, chosen: list[Scenario], baseline: dict
) -> tuple[dict[str, Outcome], dict, list[str], float]:
    """Both gunicorns up, every chosen scenario checked and driven by wrk, then stopped:
    the outcomes, the workers' memory, the servers' notable lines and the seconds taken."""
    servers = Servers(env, args.workers)
    server = servers.app  # the app under test: its workers are the ones measured
    outcomes: dict[str, Outcome] = {}
    started = time.monotonic()
    try:
        servers.start()
        log(
            f"gunicorn on 127.0.0.1:{server.port} (ours, floor), workers {server.workers()};"
            f" on 127.0.0.1:{servers.usual.port} (usual), workers {servers.usual.workers()}"
        )
        for scenario in chosen:
            outcomes[scenario.key] = preflight(servers, params, scenario)
        # A short pass over everything first, so each worker has run every code path
        # before the memory baseline is taken.
        # Enough connections that every worker gets requests of every kind.
        spread = max(args.connections, 2 * args.workers)
        for outcome in outcomes.values():
            for variant in outcome.scenario.variants:
                drive(servers, params, outcome, variant, args, 2, connections=spread)
        start_memory = server.memory()
        memory_trace = [("after warm-up", start_memory)]
        for outcome in outcomes.values():
            measure(servers, params, outcome, args, baseline)
            memory_trace.append((outcome.scenario.key, server.memory()))
        # The leak check: the warm-up pass once more, after thousands of requests. A worker
        # whose peak RSS still grows now keeps something per request.
        settled_memory = memory_trace[-1][1]
        for outcome in outcomes.values():
            for variant in outcome.scenario.variants:
                drive(servers, params, outcome, variant, args, 2, connections=spread)
        end_memory = server.memory()
        memory_trace.append(("repeat pass", end_memory))
    finally:
        servers.stop()
    elapsed = time.monotonic() - started

    workers = {}
    for pid, m in end_memory.items():
        s, settled = start_memory.get(pid), settled_memory.get(pid)
        if s and settled:
            workers[pid] = {
                "rss_start": s["VmRSS"],
                "rss_end": m["VmRSS"],
                "hwm_start": s["VmHWM"],
                "hwm_settled": settled["VmHWM"],
                "hwm_end": m["VmHWM"],
            }
    memory = {
        "workers": workers,
        # Over the measured run (includes the allocator settling), then over the repeat pass.
        "peak_growth_run_kib": max(
            (w["hwm_settled"] - w["hwm_start"] for w in workers.values()), default=None
        ),
        "peak_growth_kib": max(
            (w["hwm_end"] - w["hwm_settled"] for w in workers.values()), default=None
        ),
        "same_workers": sorted(start_memory) == sorted(end_memory),
        "trace": [{"after": label, "workers": snapshot} for label, snapshot in memory_trace],
    }
    return outcomes, memory, list(servers.notable), elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=12, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per run")
    parser.add_argument("--rounds", type=int, default=6, help="interleaved rounds per scenario")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (lists)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated scenario keys ('{ADMIN_KEY}': the admin pages, in-process)",
    )
    parser.add_argument(
        "--admin-runs",
        type=int,
        default=admin_pages.DEFAULT_RUNS,
        help="timed requests per admin page (after one warm-up)",
    )
    parser.add_argument("--psql-runs", type=int, default=15, help="summary SQL runs in psql")
    parser.add_argument("--no-load", action="store_true", help="never run seed_demo")
    parser.add_argument(
        "--documents",
        type=int,
        default=DATASET["documents"],
        help="documents in the dataset (default 1,000,000; 10000000 for the 10M run)",
    )
    parser.add_argument(
        "--sellers", type=int, default=DATASET["sellers"], help="sellers (default 1,000)"
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
        help="Redis for the cache, as in production ('' to run without)",
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    )
    args = parser.parse_args(argv)
    DATASET.update(documents=args.documents, sellers=args.sellers)
    # A kill (or Ctrl-C) must still stop gunicorn: turn SIGTERM into SystemExit, which runs
    # the ``finally`` that stops the server.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    keys = set(args.only.split(",")) if args.only else None
    run_admin = keys is None or ADMIN_KEY in keys
    # The admin pages run in this process: only the HTTP scenarios need wrk and gunicorn.
    run_http = keys is None or bool(keys - {ADMIN_KEY})
    if run_http and shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk (Debian)", file=sys.stderr)
        return 2
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        # Bsale's per-client limit (3,000 per 300 s) would stop one client after 3,000
        # requests; the throttle still runs on every request, it just never refuses.
        "API_THROTTLE_RATE": os.environ.get("BENCH_THROTTLE_RATE", "1000000000/300s"),
        # The floor and the usual approach aggregate raw documents: at 10M a year's summary
        # takes longer than a web request's statement timeout (a 503), which is their cost.
        "DATABASE_STATEMENT_TIMEOUT_MS": os.environ.get("BENCH_STATEMENT_TIMEOUT_MS", "0"),
        "GUNICORN_TIMEOUT": os.environ.get("BENCH_GUNICORN_TIMEOUT", "300"),
    }
    env.pop("DEBUG", None)
    if args.redis_url and redis_answers(args.redis_url):
        env["REDIS_URL"] = args.redis_url
    else:
        env.pop("REDIS_URL", None)
        log(
            f"WARNING: no Redis at {args.redis_url or '(none given)'}: the server runs with"
            " local-memory counters and without the authentication cache"
        )
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")})
    # This process prepares the bench's client account: the same cache as the server, so
    # that its changes reach the server's authentication cache.
    os.environ.pop("REDIS_URL", None)
    if "REDIS_URL" in env:
        os.environ["REDIS_URL"] = env["REDIS_URL"]
    os.environ["API_THROTTLE_RATE"] = env["API_THROTTLE_RATE"]

    load_before = os.getloadavg()
    if load_before[0] > 0.5:
        log(
            f"WARNING: the machine is busy (load average {load_before[0]:.2f}): other"
            " processes will share the CPUs with the server, the database and wrk"
        )
    if ensure_database(args.database_url):
        log(f"created database {database_name(args.database_url)}")
    log("migrate")
    run_manage(env, "migrate", "--noinput", "-v", "0", capture=False, timeout=None)

    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    seed_timing: dict[str, float] = {}
    counts = dataset_counts() if args.no_load else ensure_dataset(env, seed_timing)
    params = prepare_fixtures()
    chosen = scenarios(params)
    if keys is not None:
        chosen = [s for s in chosen if s.key in keys]
    log(
        f"dates {params.start365}..{params.end} (31 days from {params.start31}),"
        f" detail user {params.detail_id}, seller {params.seller_id}"
    )

    # The summary's own SQL, alone in psql, before the server runs.
    baseline: dict[str, dict] = {}
    plans: dict[str, str] = {}
    for scenario, start in (("summary_31", params.start31), ("summary_365", params.start365)):
        if not any(s.key == scenario for s in chosen):
            continue
        sql = summary_sql(start, params.end)
        raw_sql = summary_sql(start, params.end, raw=True)
        baseline[scenario] = {"sql": sql, "runs_ms": [], "raw_sql": raw_sql, "raw_runs_ms": []}
        plans[scenario] = explain(sql)
    connection.close()

    outcomes: dict[str, Outcome] = {}
    memory: dict = {}
    notable: list[str] = []
    elapsed = 0.0
    if chosen:
        outcomes, memory, notable, elapsed = serve_and_measure(env, args, params, chosen, baseline)
    admin_results = {}
    if run_admin:
        log(f"admin pages in-process, {args.admin_runs} runs each after one warm-up")
        admin_results = admin_pages.measure(params, args.admin_runs)
    targets = evaluate(outcomes, baseline, memory) + admin_pages.targets(admin_results)
    print_table(outcomes, baseline, memory)
    if admin_results:
        admin_pages.print_table(admin_results, args.admin_runs)
    print_targets(targets)
    if seed_timing:
        print(
            f"seed_demo of {counts['documents']:,} documents: {seed_timing['seed_s']:.0f} s"
            f" (then VACUUM ANALYZE {seed_timing['vacuum_s']:.0f} s)"
        )
    else:
        print(f"dataset already loaded ({counts['documents']:,} documents): no seed this run")
    load_after = os.getloadavg()
    print(
        "load average (1, 5, 15 min): before "
        + ", ".join(f"{v:.2f}" for v in load_before)
        + "; after "
        + ", ".join(f"{v:.2f}" for v in load_after)
    )

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    report = {
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "cpus": os.cpu_count(),
        "workers": args.workers,
        "postgres": pg_version,
        "dataset": counts,
        "seed": seed_timing,
        "settings": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "throttle_rate": env["API_THROTTLE_RATE"],
            "redis_url": env.get("REDIS_URL"),
        },
        "params": {
            "detail_id": params.detail_id,
            "seller_id": params.seller_id,
            "start365": str(params.start365),
            "start31": str(params.start31),
            "end": str(params.end),
        },
        "scenarios": {
            key: {
                "title": o.scenario.title,
                "path": o.scenario.path,
                "connections": o.scenario.connections or args.connections,
                "queries": o.queries,
                "checks": o.checks,
                "runs": o.runs,
                "ours_over_floor": ratio(
                    o.runs.get("ours", {}).get("rps"), o.runs.get("floor", {}).get("rps")
                ),
                "ours_over_usual": ratio(
                    o.runs.get("ours", {}).get("rps"), o.runs.get("usual", {}).get("rps")
                ),
            }
            for key, o in outcomes.items()
        },
        "admin_pages": {"runs": args.admin_runs, "pages": admin_results},
        "sql_alone": baseline,
        "plans": plans,
        "memory": memory,
        "targets": targets,
        "elapsed_s": round(elapsed, 1),
        "load_average_before": load_before,
        "load_average_after": load_after,
    }
    RESULTS.mkdir(exist_ok=True)
    name = RESULTS / f"bench-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}Z.json"
    text = json.dumps(report, indent=2, default=str)
    name.write_text(text)
    (RESULTS / "latest.json").write_text(text)
    log(f"results: {name.relative_to(ROOT)} (load and serve took {elapsed:.0f} s)")
    if notable:
        log("server messages (not access lines):\n  " + "\n  ".join(notable))
    return 0 if all(t["ok"] is not False for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
