"""``make run``'s address: a taken port is reported at once; banners print the real one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from common import serving
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


def run_serving(*args: str, bind: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GUNICORN_BIND": bind}
    return subprocess.run(
        [sys.executable, "-m", "common.serving", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.fixture
def taken_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_taken_port_is_reported_at_once_with_how_to_choose_another(taken_port):
    started = time.monotonic()
    result = run_serving("check", bind=f"127.0.0.1:{taken_port}")
    assert time.monotonic() - started < 5  # not gunicorn's five retries (13 s)
    assert result.returncode == 1
    assert f"Cannot serve: 127.0.0.1:{taken_port} is already in use" in result.stderr
    assert "GUNICORN_BIND=127.0.0.1:8001 make run" in result.stderr


def test_a_free_port_passes_and_the_banner_prints_it():
    port = free_port()
    assert run_serving("check", bind=f"127.0.0.1:{port}").returncode == 0
    banner = run_serving("banner", bind=f"0.0.0.0:{port}").stdout
    assert banner.startswith(
        f"Serving on http://127.0.0.1:{port}  (admin: http://127.0.0.1:{port}/admin/"
    )


def test_base_url(monkeypatch):
    monkeypatch.delenv("GUNICORN_BIND", raising=False)
    assert serving.base_url() == "http://127.0.0.1:8000"
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:8123,unix:/tmp/x.sock")
    assert serving.base_url() == "http://127.0.0.1:8123"
    monkeypatch.setenv("GUNICORN_BIND", "[::1]:9000")
    assert serving.base_url() == "http://[::1]:9000"
    monkeypatch.setenv("GUNICORN_BIND", ":8002")
    assert serving.base_url() == "http://127.0.0.1:8002"


def test_the_gunicorn_config_binds_what_the_check_checked(monkeypatch):
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:8124")
    namespace: dict = {"__file__": str(ROOT / "config" / "gunicorn.py")}
    exec(compile((ROOT / "config" / "gunicorn.py").read_text(), "gunicorn.py", "exec"), namespace)
    assert namespace["bind"] == "127.0.0.1:8124"


@pytest.mark.django_db
def test_setup_demo_prints_the_configured_address(monkeypatch):
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:8125")
    from offices.models import Office
    from tests.factories import OfficeFactory

    OfficeFactory()  # not empty: no demo data
    assert Office.objects.exists()
    out = StringIO()
    call_command("setup_demo", stdout=out)
    assert "Demo admin login for http://127.0.0.1:8125/admin/" in out.getvalue()
    assert ":8000" not in out.getvalue()


@pytest.mark.server
def test_make_run_stops_at_once_when_the_port_is_taken(taken_port, tmp_path):
    """The real `make run`, its setup done: it stops before gunicorn, saying why."""
    env = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{taken_port}",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("MAKEFLAGS", None)
    result = subprocess.run(
        ["make", "--no-print-directory", "check-bind"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert f"127.0.0.1:{taken_port} is already in use" in result.stderr
    assert "GUNICORN_BIND=127.0.0.1:8001 make run" in result.stderr
