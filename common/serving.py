"""Where gunicorn serves (``GUNICORN_BIND``): ``make run`` reports a taken port at once, and
the banner prints the real address. Imports nothing from Django (config/gunicorn.py).
"""

from __future__ import annotations

import errno
import os
import socket
import sys

DEFAULT_BIND = "127.0.0.1:8000"


def bind_address() -> str:
    """The first address of ``GUNICORN_BIND`` (gunicorn accepts several, comma-separated)."""
    return (os.environ.get("GUNICORN_BIND") or DEFAULT_BIND).split(",")[0].strip()


def binds() -> list[str]:
    return [part.strip() for part in (os.environ.get("GUNICORN_BIND") or DEFAULT_BIND).split(",")]


def _host_port(address: str) -> tuple[str, int] | None:
    """``("127.0.0.1", 8000)``; None for a unix socket."""
    if address.startswith(("unix:", "fd://")):
        return None
    host, _, port = address.rpartition(":")
    if not host:  # ":8000" or "8000"
        host = "0.0.0.0"
    return host.strip("[]") or "0.0.0.0", int(port)


def base_url() -> str:
    """The URL a browser on this machine uses: ``http://127.0.0.1:8000``."""
    parsed = _host_port(bind_address())
    if parsed is None:
        return f"http+{bind_address()}"
    host, port = parsed
    if host in {"0.0.0.0", "::", ""}:
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def taken(address: str) -> str | None:
    """Why ``address`` cannot be bound (``"in use"``), or None when it is free."""
    parsed = _host_port(address)
    if parsed is None:
        return None
    host, port = parsed
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As gunicorn binds: SO_REUSEADDR, so a port in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "is already in use (another server runs there)"
            return f"cannot be used ({exc.strerror})"
    return None


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "check":
        for address in binds():
            reason = taken(address)
            if reason:
                print(
                    f"Cannot serve: {address} {reason}.\n"
                    "Stop that server, or choose another address, e.g.:\n"
                    "  GUNICORN_BIND=127.0.0.1:8001 make run",
                    file=sys.stderr,
                )
                return 1
        return 0
    if command == "banner":
        url = base_url()
        print(f"Serving on {url}  (admin: {url}/admin/, API docs: {url}/api/docs/)")
        return 0
    print(f"usage: python -m common.serving [check|banner], not {command!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
