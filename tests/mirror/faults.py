"""A small HTTP proxy in front of the real source that misbehaves on demand.

``plan(request_number, path_with_query)`` returns what to do with each GET:
``None`` (forward it), ``("status", 500)``, ``("429", seconds)``, ``("reset",)``,
``("sleep", seconds)`` (then forward), ``("truncate",)`` (a 200 whose JSON is cut),
or ``("hook", callable)`` (run it, then forward).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests


class FaultProxy:
    def __init__(self, upstream: str, plan):
        self.upstream, self.plan = upstream, plan
        self.log: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                with proxy.lock:
                    proxy.log.append((time.monotonic(), self.path))
                    number = len(proxy.log)
                action = proxy.plan(number, self.path)
                kind = action[0] if action else None
                if kind == "status":
                    return self._send(action[1], b'{"error": "injected"}')
                if kind == "429":
                    return self._send(
                        429, b'{"error": "slow down"}', {"Retry-After": str(action[1])}
                    )
                if kind == "reset":
                    # SO_LINGER 0: close() sends a TCP RST instead of an orderly FIN.
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.connection.close()
                    self.close_connection = True
                    return None
                if kind == "sleep":
                    time.sleep(action[1])
                if kind == "hook":
                    action[1]()
                upstream = requests.get(
                    proxy.upstream + self.path,
                    headers={"access_token": self.headers.get("access_token", "")},
                    timeout=30,
                )
                content = upstream.content
                if kind == "truncate":
                    content = content[: len(content) // 2]
                return self._send(upstream.status_code, content)

            def _send(self, status, content, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                with contextlib.suppress(OSError):  # the client gave up (its timeout)
                    self.wfile.write(content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def paths(self) -> list[str]:
        return [path for _t, path in self.log]


@contextlib.contextmanager
def fault_proxy(upstream: str, plan):
    proxy = FaultProxy(upstream, plan)
    thread = threading.Thread(target=proxy.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.server.shutdown()
        proxy.server.server_close()
