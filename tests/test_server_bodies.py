"""Malformed chunked bodies through the real server (gunicorn, config/gunicorn.py): 400 JSON.

gunicorn decodes ``Transfer-Encoding: chunked`` while the application reads
``wsgi.input``; a bad chunk size, a body cut short or a missing last chunk raise
(InvalidChunkSize, NoMoreData, ChunkMissingTerminator) inside Django's read. They used to
escape as a 500 on any URL; common.middleware.RequestBodyLimitMiddleware now answers 400.
Only a raw socket can send these bodies, and only the real server produces the errors.
"""

from __future__ import annotations

import socket

import pytest

from tests.servers import gunicorn, server_database_url

CHUNKED_BODIES = {
    "bad chunk size": (b"zz\r\n{}\r\n0\r\n\r\n", False),
    "negative chunk size": (b"-2\r\n{}\r\n0\r\n\r\n", False),
    "huge chunk size": (b"ffffffffffffffffffffffff\r\n{}\r\n0\r\n\r\n", True),
    "chunk without its terminator": (b"2\r\n{}XX0\r\n\r\n", False),
    "bad chunk extension": (b"2;\x01\r\n{}\r\n0\r\n\r\n", False),
    "truncated chunk": (b'10\r\n{"user', True),
    "no final chunk": (b"2\r\n{}\r\n", True),
    "no chunk at all": (b"", True),
    "half a size line": (b"2", True),
}
# The server needs the test database to exist (pytest-django creates it for marked tests).
pytestmark = pytest.mark.django_db

PATHS = ["/healthz", "/v1/users.json", "/api/token/", "/admin/login/", "/oauth2/token"]


@pytest.fixture(scope="module")
def server(server_database):
    with gunicorn({"DATABASE_URL": server_database}) as base:
        yield base


@pytest.fixture(scope="module")
def server_database(tmp_path_factory, django_db_setup, django_db_blocker):
    return server_database_url(tmp_path_factory, django_db_blocker)


def _send(base: str, raw: bytes, *, close_write: bool) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(raw)
        if close_write:  # the client stops sending: the body ends where it is
            sock.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply


@pytest.mark.server
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("kind", list(CHUNKED_BODIES))
def test_a_malformed_chunked_body_is_400_json(server, path, kind):
    body, close_write = CHUNKED_BODIES[kind]
    raw = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode() + body
    reply = _send(server, raw, close_write=close_write)
    head, _, payload = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), (kind, path, reply[:400])
    assert b"Content-Type: application/json" in head, head
    assert b'"error"' in payload and b"chunked" in payload, payload


@pytest.mark.server
def test_a_well_formed_chunked_body_still_reaches_the_view(server):
    body = b'{"username": "nobody", "password": "x"}'
    raw = (
        b"POST /api/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + f"{len(body):x}\r\n".encode()
        + body
        + b"\r\n0\r\n\r\n"
    )
    reply = _send(server, raw, close_write=False)
    assert reply.startswith(b"HTTP/1.1 401"), reply[:400]  # read and parsed: a wrong login
