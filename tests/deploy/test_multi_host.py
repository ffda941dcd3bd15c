"""Beyond one machine, for real: Debian's nginx with deploy/nginx/salesdesk.conf in front
of two gunicorn hosts (production settings, one sync worker each), a PostgreSQL primary
and a streaming standby made here (initdb, pg_basebackup -R, pg_ctl), Redis database 8.

What it proves, through nginx unless a test names a host: Bsale's ``access_token``
header passes; X-Request-ID passes through; static files come from nginx; the admin's
import preview made on one host is confirmed on the other; a history write on one host
is read back on the other from the replica (and a replica that lags too far is
skipped); a replica stopped mid-run costs no 5xx; two slow clients do not stall a
third; the errors nginx answers itself are JSON (400, 413, 414, 431, 502, 504).
"""

from __future__ import annotations

import json
import re
import signal
import socket
import ssl
import threading
import time
import uuid

import pytest
import redis
import requests

from scripts.processes import ManageError, manage
from tests.deploy.stack import StackError, missing_parts, multi_host_stack

pytestmark = [
    pytest.mark.server,
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),  # own cert
    pytest.mark.skipif(missing_parts() is not None, reason=f"multi-host: {missing_parts()}"),
]

PASSWORD = "multi-host-Pa55word!"
SETUP = f"""
import json
from rest_framework_simplejwt.tokens import AccessToken
from users.models import User
ops = User.objects.create_superuser("ops", "ops@example.com", {PASSWORD!r})
leaver = User.objects.create_superuser("leaver", "leaver@example.com", {PASSWORD!r})
merchant = User.objects.exclude(pk__in=[ops.pk, leaver.pk]).order_by("pk").first()
print(json.dumps({{
    "token": str(AccessToken.for_user(ops)),
    "leaver_token": str(AccessToken.for_user(leaver)),
    "merchant": str(merchant.uuid),
}}))
"""
HISTORY_HEADER = "user_id,nit,monto,fecha,emc\n"


@pytest.fixture(scope="module")
def stack():
    try:
        with multi_host_stack(
            seed_args=["--offices", "3", "--users", "40", "--documents", "400", "--history", "40"],
            # 35 s in the shipped file. A worker held by a slow client would make nginx wait
            # this long before it tries the other host: well above the 3 s allowed below.
            read_timeout="6s",
            extra_env={"REPLICA_MAX_LAG_SECONDS": "4", "REPLICA_HEALTH_SECONDS": "0.5"},
        ) as running:
            out = manage(running.env, "shell", "-c", SETUP)
            running.data = json.loads(out.strip().splitlines()[-1])
            running.pg.wait_for_replay()
            yield running
    except (StackError, ManageError) as exc:
        pytest.fail(str(exc))


def api(stack, path, *, headers=None, **kwargs):
    headers = {"access_token": stack.data["token"], **(headers or {})}
    return requests.get(stack.base + path, headers=headers, verify=False, timeout=30, **kwargs)


def on_host(host, method, path, *, cookies=None, **kwargs):
    """A request straight to one host, as nginx would send it (HTTPS said by the header;
    the session cookies sent by hand, since they are Secure)."""
    headers = {"X-Forwarded-Proto": "https", **kwargs.pop("headers", {})}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if method == "POST":
        headers.setdefault("Referer", f"https://127.0.0.1:{host.port}{path}")
    response = requests.request(
        method, host.base + path, headers=headers, allow_redirects=False, timeout=30, **kwargs
    )
    if cookies is not None:
        cookies.update(response.cookies.get_dict())
    return response


def admin_login(host) -> dict:
    cookies: dict = {}
    page = on_host(host, "GET", "/admin/login/", cookies=cookies)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = on_host(
        host,
        "POST",
        "/admin/login/?next=/admin/",
        cookies=cookies,
        data={"username": "ops", "password": PASSWORD, "csrfmiddlewaretoken": csrf},
    )
    assert response.status_code == 302, response.text[:500]
    return cookies


# --- Through nginx ---------------------------------------------------------------------------


def test_the_access_token_header_passes_nginx(stack):
    response = api(stack, "/v1/users.json")
    assert response.status_code == 200, response.text
    assert response.json()["count"] >= 40
    bearer = requests.get(
        stack.base + "/v1/users.json",
        headers={"Authorization": f"Bearer {stack.data['token']}"},
        verify=False,
    )
    assert bearer.json() == response.json()
    refused = requests.get(stack.base + "/v1/users.json", verify=False)
    assert refused.status_code == 401 and "error" in refused.json()


def test_the_request_id_passes_through_or_is_made_by_nginx(stack):
    assert api(stack, "/v1/offices.json", headers={"X-Request-ID": "trace-42"}).headers[
        "X-Request-ID"
    ] == ("trace-42")
    made = api(stack, "/v1/offices.json").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)  # nginx's $request_id
    assert f"id={made}" in (stack.nginx_prefix / "logs" / "salesdesk.access.log").read_text()


def test_plain_http_redirects_and_static_files_come_from_nginx(stack):
    redirect = requests.get(
        f"http://127.0.0.1:{stack.http_port}/v1/users.json", allow_redirects=False
    )
    assert redirect.status_code == 301
    assert redirect.headers["Location"].startswith("https://")
    css = requests.get(stack.base + "/static/admin/css/base.css", verify=False)
    assert css.status_code == 200 and "immutable" in css.headers["Cache-Control"]
    assert "X-Request-ID" not in css.headers  # no web host saw it
    missing = requests.get(stack.base + "/static/admin/css/nope.css", verify=False)
    _assert_json_error(missing.status_code, missing.headers, missing.content, 404)


def test_the_admin_import_previewed_on_one_host_is_confirmed_on_the_other(stack):
    host_a, host_b = stack.hosts
    cookies = admin_login(host_a)
    url = "/admin/sales/saleshistoryentry/import/"
    form = on_host(host_a, "GET", url, cookies=cookies)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    emc = f"multi-{uuid.uuid4().hex[:8]}"
    content = HISTORY_HEADER + f"{stack.data['merchant']},900-1,12.50,2024-03-01,{emc}\n"
    preview = on_host(
        host_a,
        "POST",
        url,
        cookies=cookies,
        data={"csrfmiddlewaretoken": csrf},
        files={"file": ("history.csv", content.encode(), "text/csv")},
    )
    assert preview.status_code == 200
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)

    confirm = on_host(
        host_b,
        "POST",
        url,
        cookies=cookies,
        data={"csrfmiddlewaretoken": csrf, "token": token, "confirm": "1"},
    )
    assert confirm.status_code == 302
    assert confirm.headers["Location"] == "/admin/sales/saleshistoryentry/"
    (count,) = stack.pg.query(
        stack.pg.primary_port, "SELECT count(*) FROM sales_saleshistoryentry WHERE emc = %s", emc
    )
    assert count == 1


def _write_history(host, stack, emc: str) -> None:
    body = {
        "user_id": stack.data["merchant"],
        "history": [{"nit": "77-1", "monto": 5, "fecha": "2024-04-01", "emc": emc}],
    }
    response = on_host(
        host,
        "POST",
        "/update-user-sales-history",
        json=body,
        headers={"access_token": stack.data["token"]},
    )
    assert response.status_code == 200, response.text


def _emcs_on(host, stack) -> set[str]:
    response = on_host(
        host,
        "GET",
        f"/user?id={stack.data['merchant']}",
        headers={"access_token": stack.data["token"]},
    )
    assert response.status_code == 200, response.text
    return {entry["emc"] for entry in response.json()["history"]}


def test_a_write_on_one_host_is_read_back_on_the_other_from_the_replica(stack):
    host_a, host_b = stack.hosts
    first = f"w1-{uuid.uuid4().hex[:8]}"
    _write_history(host_a, stack, first)
    stack.pg.wait_for_replay()
    assert first in _emcs_on(host_b, stack)

    # Replay paused: host B still reads the replica (slightly behind: the write is not
    # there yet), until it is REPLICA_MAX_LAG_SECONDS (4) behind and skipped.
    stack.pg.query(stack.pg.standby_port, "SELECT pg_wal_replay_pause()")
    try:
        second = f"w2-{uuid.uuid4().hex[:8]}"
        _write_history(host_a, stack, second)
        assert second not in _emcs_on(host_b, stack)  # from the replica

        # Authentication reads the primary: an account deactivated there is refused at
        # once, though the replica (still in use) has it active. (SQL, and the Redis
        # authentication cache emptied: no Django signal involved.)
        stack.pg.query(
            stack.pg.primary_port,
            "UPDATE users_user SET is_active = false WHERE username = 'leaver' RETURNING 1",
        )
        if "REDIS_URL" in stack.env:
            redis.Redis.from_url(stack.env["REDIS_URL"]).flushdb()
        leaver = {"access_token": stack.data["leaver_token"]}
        assert on_host(host_b, "GET", "/v1/offices.json", headers=leaver).status_code == 401
        assert second not in _emcs_on(host_b, stack)  # the replica was still being read
        time.sleep(5)
        assert second in _emcs_on(host_b, stack)  # too far behind: the primary
    finally:
        stack.pg.query(stack.pg.standby_port, "SELECT pg_wal_replay_resume()")
    stack.pg.wait_for_replay()


def test_a_replica_stopped_mid_run_costs_no_error(stack):
    statuses = []
    for i in range(30):
        if i == 10:
            stack.pg.stop_standby()
        statuses.append(api(stack, "/v1/users.json", params={"limit": 5}).status_code)
    assert statuses == [200] * 30
    stack.pg.start_standby()
    stack.pg.wait_for_replay()
    assert api(stack, "/v1/offices.json").status_code == 200


# --- Slow clients ------------------------------------------------------------------------------


def _tls(stack, *, rcvbuf: int | None = None):
    raw = socket.socket()
    if rcvbuf:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    raw.connect(("127.0.0.1", stack.nginx_port))
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context.wrap_socket(raw)


def test_two_slow_clients_do_not_stall_a_third(stack):
    """One worker per host: unbuffered, a trickled body and a slow reader would hold
    both workers for as long as the clients like."""
    stop = threading.Event()

    def trickle():
        entry = {"nit": "1", "monto": 1, "fecha": "2024-01-01", "emc": "slow"}
        body = json.dumps({"user_id": stack.data["merchant"], "history": [entry]}).encode()
        with _tls(stack) as conn:
            conn.sendall(
                b"POST /update-user-sales-history HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\naccess_token: "
                + stack.data["token"].encode()
                + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
            )
            for byte in body[:-1]:
                if stop.wait(0.25):
                    return
                conn.sendall(bytes([byte]))

    def slow_reader():
        with _tls(stack, rcvbuf=4096) as conn:
            conn.sendall(
                b"GET /v1/documents.json?limit=50&expand=%5Bdetails,user,office%5D HTTP/1.1\r\n"
                b"Host: 127.0.0.1\r\naccess_token: " + stack.data["token"].encode() + b"\r\n\r\n"
            )
            conn.recv(64)
            stop.wait(15)  # reads nothing more

    slow = [threading.Thread(target=trickle), threading.Thread(target=slow_reader)]
    for thread in slow:
        thread.start()
    try:
        time.sleep(1.5)
        timings = []
        for _ in range(4):  # both hosts, twice
            started = time.monotonic()
            assert api(stack, "/v1/offices.json").status_code == 200
            timings.append(time.monotonic() - started)
        # Unbuffered (proxy_*buffering off) the host whose worker a slow client holds makes
        # nginx wait out proxy_read_timeout (6 s) before it tries the other: >= 6 s.
        assert max(timings) < 3, timings
        assert all(thread.is_alive() for thread in slow)  # they were still at it
    finally:
        stop.set()
        for thread in slow:
            thread.join(timeout=20)


# --- The errors nginx answers itself -----------------------------------------------------------


def _raw(stack, request: bytes) -> tuple[int, dict, bytes]:
    with _tls(stack) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data:
                head, _, rest = data.partition(b"\r\n\r\n")
                length = re.search(rb"Content-Length: (\d+)", head, re.IGNORECASE)
                if length and len(rest) >= int(length.group(1)):
                    break
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def _assert_json_error(status, headers, body, expected):
    assert status == expected, body
    assert headers["Content-Type"] == "application/json"
    assert set(json.loads(body)) == {"error"}


def test_malformed_request_is_a_json_400(stack):
    status, headers, body = _raw(
        stack, b"GET /v1/users.json HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"
    )
    _assert_json_error(status, headers, body, 400)


def test_a_body_too_large_is_a_json_413_before_any_host_sees_it(stack):
    status, headers, body = _raw(
        stack,
        b"POST /update-user-sales-history HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (5 * 1024 * 1024 + 1),
    )
    _assert_json_error(status, headers, body, 413)
    assert b"5242880 bytes" in body


def test_a_url_too_long_is_a_json_414(stack):
    # Longer than gunicorn's request-line limit (4094) too: nginx must answer first, or
    # gunicorn's HTML 400 would come back.
    response = api(stack, "/v1/users.json", params={"q": "x" * 4200})
    _assert_json_error(response.status_code, response.headers, response.content, 414)


def test_headers_too_large_are_a_json_431(stack):
    response = api(stack, "/v1/users.json", headers={"X-Big": "x" * 5000})
    _assert_json_error(response.status_code, response.headers, response.content, 431)


def test_hosts_that_hang_are_a_json_504_and_hosts_gone_a_json_502(stack):
    """Last: it stops the hosts."""
    for host in stack.hosts:
        host.signal_all(signal.SIGSTOP)
    try:
        response = api(stack, "/v1/offices.json")
        _assert_json_error(response.status_code, response.headers, response.content, 504)
    finally:
        for host in stack.hosts:
            host.signal_all(signal.SIGCONT)
    for host in stack.hosts:
        host.proc.terminate()
        host.proc.wait(timeout=20)
    response = api(stack, "/v1/offices.json")
    _assert_json_error(response.status_code, response.headers, response.content, 502)
