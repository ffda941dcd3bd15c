"""The multi-host stack, started for real under a temp dir: a PostgreSQL primary and a
streaming standby (initdb, pg_basebackup -R, pg_ctl, as the ``postgres`` user), two
gunicorn "hosts" sharing them and Redis, and Debian's nginx with deploy/nginx/salesdesk.conf
in front (only its addresses, ports and paths changed).

Used by tests/deploy/test_multi_host.py and ``scripts/soak.py --multi-host``. Every port
is a free loopback port chosen at run time; nothing of the machine's own PostgreSQL
cluster, nginx or Redis data (other than Redis database ``REDIS_DB``) is touched.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from scripts.processes import manage, manage_env

ROOT = Path(__file__).resolve().parent.parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
SITE_CONF = ROOT / "deploy" / "nginx" / "salesdesk.conf"
REDIS_DB = 8


class StackError(RuntimeError):
    pass


def missing_parts() -> str | None:
    """Why the stack cannot run here (None when it can)."""
    if not Path(NGINX).exists():
        return "nginx is not installed (apt-get install nginx)"
    if not (PG_BIN / "initdb").exists():
        return f"PostgreSQL 15 server binaries are missing ({PG_BIN})"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a postgres user to run the test cluster"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(cmd: list[str], *, timeout: float = 120, **kwargs) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    if result.returncode:
        raise StackError(f"{' '.join(cmd)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return result.stdout


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb refuses root: as root, run the cluster as the postgres user.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


# --- PostgreSQL: a primary and a streaming standby --------------------------------------------


@dataclass
class PostgresPair:
    base: Path
    primary_port: int = field(default_factory=free_port)
    standby_port: int = field(default_factory=free_port)
    database: str = "salesdesk"

    @property
    def primary_dir(self) -> Path:
        return self.base / "primary"

    @property
    def standby_dir(self) -> Path:
        return self.base / "standby"

    def url(self, port: int) -> str:
        return f"postgres://postgres@127.0.0.1:{port}/{self.database}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def standby_url(self) -> str:
        return self.url(self.standby_port)

    def _pg_ctl(self, data: Path, action: str, *extra: str) -> None:
        log = self.base / f"{data.name}.log"
        _run(
            _as_postgres(
                [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", *extra, action]
            )
        )

    def start(self) -> None:
        _run(
            _as_postgres(
                [str(PG_BIN / "initdb"), "-D", str(self.primary_dir), "-U", "postgres",
                 "--auth=trust", "-E", "UTF8", "--locale=C"]
            )
        )  # fmt: skip
        with open(self.primary_dir / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# salesdesk multi-host test\n"
                f"port = {self.primary_port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.base}'\n"
                "max_connections = 200\nfsync = off\nfull_page_writes = off\n"
                "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n"
            )
        self._pg_ctl(self.primary_dir, "start")
        _run(
            _as_postgres(
                [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.primary_port),
                 "-U", "postgres", self.database]
            )
        )  # fmt: skip

    def make_standby(self) -> None:
        _run(
            _as_postgres(
                [str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary_port),
                 "-U", "postgres", "-D", str(self.standby_dir), "-R", "-X", "stream", "-c", "fast"]
            )
        )  # fmt: skip
        with open(self.standby_dir / "postgresql.conf", "a") as conf:
            conf.write(f"port = {self.standby_port}\n")
        self.start_standby()

    def start_standby(self) -> None:
        self._pg_ctl(self.standby_dir, "start")

    def stop_standby(self) -> None:
        self._pg_ctl(self.standby_dir, "stop", "-m", "immediate")

    def stop(self) -> None:
        for data in (self.standby_dir, self.primary_dir):
            if (data / "postmaster.pid").exists():
                with contextlib.suppress(StackError, subprocess.TimeoutExpired):
                    self._pg_ctl(data, "stop", "-m", "immediate")

    def query(self, port: int, sql: str, *params):
        import psycopg

        with psycopg.connect(self.url(port), autocommit=True, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchone()

    def wait_for_replay(self, timeout: float = 30) -> None:
        """Until the standby has replayed everything the primary has written so far."""
        (target,) = self.query(self.primary_port, "SELECT pg_current_wal_lsn()::text")
        deadline = time.monotonic() + timeout
        while True:
            (done,) = self.query(
                self.standby_port,
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn",
                target,
            )
            if done:
                return
            if time.monotonic() > deadline:
                raise StackError("the standby did not replay in time")
            time.sleep(0.1)


# --- gunicorn hosts and nginx ----------------------------------------------------------------


@dataclass
class Host:
    name: str
    port: int
    proc: subprocess.Popen
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    stat = (entry / "stat").read_text()
                    if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                        children.append(int(entry.name))
        return [self.proc.pid, *sorted(children)]

    def signal_all(self, signum: int) -> None:
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)


def start_host(name: str, env: dict, workdir: Path) -> Host:
    port = free_port()
    log = workdir / f"{name}.log"
    # A temp dir of its own, as on a machine of its own: nothing may rely on sharing it.
    tmp = workdir / f"{name}-tmp"
    tmp.mkdir()
    proc = subprocess.Popen(
        [GUNICORN, "-c", "config/gunicorn.py", "config.wsgi"],
        cwd=ROOT,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "TMPDIR": str(tmp)},
        stdout=open(log, "wb"),  # noqa: SIM115 - the child owns it
        stderr=subprocess.STDOUT,
    )
    return Host(name, port, proc, log)


def wait_ready(host: Host, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"{host.base}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if host.proc.poll() is not None or time.monotonic() > deadline:
            raise StackError(f"gunicorn {host.name} did not start: {host.log.read_text()[-3000:]}")
        time.sleep(0.2)


# The shipped site with this run's addresses: (pattern in salesdesk.conf, replacement).
def site_for_test(
    *, upstreams: list[int], http_port: int, https_port: int, cert: Path, key: Path,
    logs: Path, static_root: Path, read_timeout: str | None,
) -> str:  # fmt: skip
    text = SITE_CONF.read_text()
    changes = [
        (r"server 10\.0\.0\.11:8000", f"server 127.0.0.1:{upstreams[0]}"),
        (r"server 10\.0\.0\.12:8000", f"server 127.0.0.1:{upstreams[1]}"),
        (r"\n\s*listen \[::\]:80;", ""),
        (r"\n\s*listen \[::\]:443 ssl http2;", ""),
        (r"listen 80;", f"listen 127.0.0.1:{http_port};"),
        (r"listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        (r"/etc/ssl/certs/salesdesk\.pem", str(cert)),
        (r"/etc/ssl/private/salesdesk\.key", str(key)),
        (r"/var/log/nginx/", f"{logs}/"),
        (r"/srv/salesdesk/staticfiles/", f"{static_root}/"),
    ]
    if read_timeout:
        changes.append((r"proxy_read_timeout 35s;", f"proxy_read_timeout {read_timeout};"))
    for pattern, replacement in changes:
        text, count = re.subn(pattern, replacement, text)
        if not count:
            raise StackError(f"deploy/nginx/salesdesk.conf no longer has {pattern!r}")
    return text


def start_nginx(workdir: Path, site: str) -> tuple[subprocess.Popen, Path]:
    prefix = workdir / "nginx"
    for sub in ("logs", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    (prefix / "salesdesk.conf").write_text(site)
    user = "user root;\n" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(
        f"""{user}daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    access_log {prefix}/logs/access.log;
    include {prefix}/salesdesk.conf;
}}
"""
    )
    _run([NGINX, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")])
    proc = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=open(prefix / "logs" / "stderr.log", "wb"),  # noqa: SIM115
    )
    return proc, prefix


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if proc.poll() is not None or time.monotonic() > deadline:
            raise StackError("nginx did not start")
        time.sleep(0.1)


def _reset_redis(url: str) -> bool:
    """Empty this test's Redis database (its own number); False when Redis is absent."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()
    except redis.ConnectionError:
        return False
    return True


@dataclass
class Stack:
    workdir: Path
    pg: PostgresPair
    hosts: list[Host]
    nginx_port: int
    http_port: int
    nginx_prefix: Path
    env: dict

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.nginx_port}"

    def worker_pids(self) -> list[int]:
        return [pid for host in self.hosts for pid in host.pids()[1:]]


@contextlib.contextmanager
def multi_host_stack(
    *, seed_args: list[str], workers: int = 1, read_timeout: str | None = None,
    extra_env: dict[str, str] | None = None, log=print,
):  # fmt: skip
    """The whole stack; yields a ``Stack`` and stops everything it started."""
    reason = missing_parts()
    if reason:
        raise StackError(reason)
    workdir = Path(tempfile.mkdtemp(prefix="salesdesk-multihost-"))
    os.chmod(workdir, 0o755)  # the postgres user creates its clusters in pg/
    pg = PostgresPair(workdir / "pg")
    pg.base.mkdir()
    if os.geteuid() == 0:
        shutil.chown(pg.base, "postgres", "postgres")
    processes: list[subprocess.Popen] = []
    try:
        started = time.monotonic()
        pg.start()
        static_root = workdir / "static"
        env = manage_env(
            **{
                "DJANGO_ENV": "production",
                "SECRET_KEY": secrets.token_urlsafe(48),
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "DATABASE_URL": pg.primary_url,
                "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
                "NUM_PROXIES": "1",
                "STATIC_ROOT": str(static_root),
                "LOG_LEVEL": "WARNING",
                "GUNICORN_ACCESSLOG": "",
                "WEB_CONCURRENCY": str(workers),
                "AXES_ENABLED": "false",
                **(extra_env or {}),
            }
        )
        env.pop("DATABASE_REPLICA_URLS", None)
        if not _reset_redis(env["REDIS_URL"]):
            # No Redis here: the hosts run without it (rate limits per process, no
            # authentication cache); everything else in the stack is the same.
            log("stack: no Redis on 127.0.0.1:6379, the hosts run without REDIS_URL")
            del env["REDIS_URL"]
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "seed_demo", "--no-progress", *seed_args, timeout=900)
        manage(env, "collectstatic", "--noinput", "-v", "0")
        log(f"stack: primary migrated and seeded in {time.monotonic() - started:.1f} s")
        pg.make_standby()
        pg.wait_for_replay()
        env["DATABASE_REPLICA_URLS"] = pg.standby_url
        hosts = [start_host(name, env, workdir) for name in ("host-a", "host-b")]
        processes += [host.proc for host in hosts]
        for host in hosts:
            wait_ready(host)
        cert, key = workdir / "cert.pem", workdir / "key.pem"
        _run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)]
        )  # fmt: skip
        nginx_port, http_port = free_port(), free_port()
        site = site_for_test(
            upstreams=[host.port for host in hosts],
            http_port=http_port,
            https_port=nginx_port,
            cert=cert,
            key=key,
            logs=workdir / "nginx" / "logs",
            static_root=static_root,
            read_timeout=read_timeout,
        )
        nginx, prefix = start_nginx(workdir, site)
        processes.append(nginx)
        _wait_port(nginx_port, nginx)
        log(f"stack: ready in {time.monotonic() - started:.1f} s ({workdir})")
        yield Stack(workdir, pg, hosts, nginx_port, http_port, prefix, env)
    finally:
        for proc in processes:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGCONT)
            proc.terminate()
        for proc in processes:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        pg.stop()
        if not os.environ.get("KEEP_MULTIHOST_DIR"):
            shutil.rmtree(workdir, ignore_errors=True)
