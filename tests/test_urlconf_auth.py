"""Every endpoint in the URL conf needs a token, except a short, explicit list.

The test walks ``get_resolver()`` itself, so an endpoint added tomorrow is checked
tomorrow: it either answers 401 without a token, or it is added to ``PUBLIC`` here
(a decision someone has to make in a review), or this test fails.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLResolver, get_resolver, resolve
from rest_framework.test import APIClient

# Paths that are public on purpose (regexes over the concrete path, without the leading /).
PUBLIC = {
    r"api/token/?": "simplejwt: obtain a token with a username and password",
    r"api/token/refresh/?": "simplejwt: a refresh token is the credential",
    r"api/token/verify/?": "simplejwt: says whether a token is valid",
    r"oauth2/token/?": "OAuth2 client credentials: HTTP Basic is the credential",
    r"healthz": "load balancers' health check",
    r"api/schema/": "the OpenAPI document",
    r"api/docs/": "Swagger UI",
    r"webhooks/bsale/": "Bsale's webhooks: the operator's shared secret is the credential (tests/mirror)",
    r"i18n/setlang/": "Django's set_language: the admin's language switch (a cookie; POST with CSRF)",
    r"": "the landing page: links to the admin, the API docs, the schema and the health check",
    r"favicon\.ico": "an empty 204 for browsers",
}
ADMIN_PREFIX = "admin/"  # staff sessions, checked separately below
METHODS = ["get", "post", "put", "patch", "delete"]


def _strip_anchors(regex: str) -> str:
    regex = regex.removeprefix("^")
    for end in (r"\Z", "$"):
        regex = regex.removesuffix(end)
    return regex


def _example_path(regex: str) -> str:
    """A concrete path matching ``regex``: ``1`` for each parameter, optional parts left
    out, the first of alternatives. Fails loudly on a construct it does not know."""
    path = re.sub(r"\(\?P<\w+>[^()]*\)", "1", regex)  # (?P<pk>\d+) -> 1
    path = re.sub(r"\(\?:[^()]*\)\?", "", path)  # (?:\.json|/)? -> nothing
    path = re.sub(r"\(\?:([^()|]*)(?:\|[^()]*)?\)", r"\1", path)  # (?:a|b) -> a
    path = re.sub(r"(\\?.)\?", "", path)  # x? -> nothing
    path = path.replace("\\", "")
    if re.search(r"[()\[\]{}*+?|^$]", path):
        pytest.fail(f"Cannot build a URL for the pattern {regex!r}; teach _example_path.")
    return path


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        regex = prefix + _strip_anchors(pattern.pattern.regex.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, regex)
        else:
            yield regex, pattern


def all_endpoints() -> list[tuple[str, str]]:
    """(regex, concrete path) for every endpoint in the URL conf."""
    return [(regex, _example_path(regex)) for regex, _ in _walk(get_resolver().url_patterns)]


def _callback(regex: str):
    return next(p.callback for r, p in _walk(get_resolver().url_patterns) if r == regex)


def _is_public(path: str) -> bool:
    return any(re.fullmatch(public, path) for public in PUBLIC)


ENDPOINTS = all_endpoints()
PROTECTED = [(r, p) for r, p in ENDPOINTS if not p.startswith(ADMIN_PREFIX) and not _is_public(p)]
ADMIN = [(r, p) for r, p in ENDPOINTS if p.startswith(ADMIN_PREFIX)]


def test_the_walk_finds_the_api():
    paths = {p for _, p in PROTECTED}
    assert {"v1/users", "v1/users/1", "v1/documents/count", "update-user-sales-history"} <= paths
    assert "user" in paths
    assert len(PROTECTED) >= 15


def test_every_public_exception_exists():
    """A public entry whose endpoint is gone is dead weight that could shadow a new one."""
    paths = {p for _, p in ENDPOINTS}
    for public in PUBLIC:
        assert any(re.fullmatch(public, p) for p in paths), public


@pytest.mark.parametrize(("regex", "path"), PROTECTED, ids=[p for _, p in PROTECTED])
def test_every_endpoint_needs_a_token(db, regex, path):
    # The concrete path reaches this very endpoint (not one declared before it).
    assert resolve(f"/{path}").func is _callback(regex), path
    client = APIClient()
    for method in METHODS:
        response = getattr(client, method)(f"/{path}")
        assert response.status_code == 401, (method, path, response.status_code)
        assert response["Content-Type"] == "application/json"
        assert "error" in response.json()


@pytest.mark.parametrize(("regex", "path"), ADMIN, ids=[p for _, p in ADMIN])
def test_every_admin_page_sends_anonymous_visitors_to_the_login(db, regex, path):
    if path in ("admin/login/", "admin/logout/"):
        return
    response = APIClient().get(f"/{path}")
    assert response.status_code == 302, (path, response.status_code)
    assert response["Location"].startswith("/admin/login/"), response["Location"]


@pytest.mark.parametrize(
    "path", [p for _, p in ENDPOINTS if _is_public(p) and not p.startswith("api/docs")]
)
def test_public_endpoints_answer_without_a_token(db, path):
    response = APIClient().get(f"/{path}")
    assert response.status_code < 500
    assert response.status_code != 401 or path.startswith(("api/token", "oauth2"))
