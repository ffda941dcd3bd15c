"""The URLs a response shows: the request's base, the canonical ``.json`` path, paging links."""

from __future__ import annotations

from urllib.parse import urlencode

from rest_framework.request import Request


def base_url(request: Request) -> str:
    """Scheme and host of the request, e.g. ``https://api.example.com``."""
    request = getattr(request, "_request", request)  # Django's own: DRF's proxies each lookup
    return f"{request.scheme}://{request.get_host()}"


def canonical_path(request: Request) -> str:
    """The request's path with Bsale's ``.json`` suffix (``/v1/users`` -> ``/v1/users.json``)."""
    path = request.path.rstrip("/")
    return path if path.endswith(".json") else f"{path}.json"


def list_urls(request: Request, limit: int, offset: int, count: int) -> tuple[str, str | None]:
    """The list's own ``href`` (its filters, without paging) and ``next`` (or None), which
    keeps every other query parameter of the request."""
    others = [(k, v) for k, v in request.query_params.lists() if k not in ("limit", "offset")]
    pairs = [(k, v) for k, values in others for v in values]
    url = base_url(request) + canonical_path(request)
    # "[" and "]" percent-encoded: strict URI parsers (java.net.URI, "format: uri") refuse
    # them in a query; every server decodes %5B as "[".
    href = f"{url}?{urlencode(pairs, safe=',')}" if pairs else url
    next_url = None
    if limit > 0 and offset + limit < count:
        paging = [("limit", limit), ("offset", offset + limit)]
        next_url = f"{url}?{urlencode(paging + pairs, safe=',')}"
    return href, next_url
