"""Helpers for the Bsale API tests: requests from a known host, expected objects, checks.

The expected-object builders below are the test's own reading of SPEC section 3 (key
names, key order, value types), written by hand: they never call the code under test.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

from django.test import override_settings

HOST = "api.example.com"
BASE = f"http://{HOST}"

# Queries every authenticated request makes before the view runs: the token's user with
# all of its permissions, in one query (common.authentication.user_with_permissions).
# The tests run without the authentication cache (no REDIS_URL), so every request
# makes it; tests/common/test_auth_cache.py counts the cached case (none).
AUTH_QUERIES = 1


# --- Requests ---------------------------------------------------------------------------


def get(client, path: str, params: dict | None = None, **extra):
    """GET ``path`` as if sent to ``api.example.com`` (so every href starts with BASE)."""
    with override_settings(ALLOWED_HOSTS=[HOST, "testserver"]):
        return client.get(path, params or {}, HTTP_HOST=HOST, **extra)


def get_json(client, path: str, params: dict | None = None, *, status: int = 200):
    response = get(client, path, params)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


def follow(client, url: str):
    """GET an absolute URL the API handed out (a ``next`` link)."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE, url
    return get_json(client, parts.path, dict(parse_qsl(parts.query)))


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


# --- Checks -----------------------------------------------------------------------------


def _ordered(value):
    """Dicts as lists of pairs, recursively: equality then also checks key order."""
    if isinstance(value, dict):
        return [(key, _ordered(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_ordered(item) for item in value]
    return value


def assert_exact(actual, expected) -> None:
    """Equal values, equal types (``1`` is not ``"1"`` nor ``1.0``) and the same key order."""
    assert actual == expected
    assert _ordered(actual) == _ordered(expected)
    assert _types(actual) == _types(expected)


def _types(value):
    if isinstance(value, dict):
        return {key: _types(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_types(item) for item in value]
    return type(value).__name__


def assert_error(response, status: int, param: str | None = None) -> dict:
    """A JSON error ``{"error": "<sentence>"[, "errors": {param: [...]}]}``."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) <= {"error", "errors"}
    assert isinstance(body["error"], str) and body["error"].strip()
    if param is not None:
        assert param in body.get("errors", {}), body
        assert all(isinstance(m, str) for m in body["errors"][param])
    return body


def item_ids(payload: dict) -> list[int]:
    return [item["id"] for item in payload["items"]]


# --- Values as the API writes them -------------------------------------------------------


def unix(day: dt.date) -> int:
    """00:00 UTC of ``day`` in Unix seconds, computed independently of the code."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def url(path: str) -> str:
    return f"{BASE}{path}"


def ref(resource: str, pk: int | None) -> dict | None:
    """An unexpanded relation: ``{"href", "id": "<string>"}`` (or null)."""
    if pk is None:
        return None
    return {"href": url(f"/v1/{resource}/{pk}.json"), "id": str(pk)}


# --- Expected objects ----------------------------------------------------------------------


def office_json(office) -> dict | None:
    if office is None:
        return None
    return {
        "href": url(f"/v1/offices/{office.pk}.json"),
        "id": office.pk,
        "name": office.name,
        "description": office.description,
        "address": office.address,
        "latitude": office.latitude,
        "longitude": office.longitude,
        "isVirtual": int(office.is_virtual),
        "country": office.country,
        "municipality": office.municipality,
        "city": office.city,
        "zipCode": office.zip_code,
        "costCenter": office.cost_center,
        "state": int(office.state),
    }


def user_json(user, *, expand: tuple[str, ...] = ()) -> dict | None:
    if user is None:
        return None
    return {
        "href": url(f"/v1/users/{user.pk}.json"),
        "id": user.pk,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "email": user.email,
        "state": 0 if user.is_active else 1,
        "office": office_json(user.office)
        if "office" in expand
        else ref("offices", user.office_id),
    }


def document_type_json(document_type) -> dict:
    return {
        "href": url(f"/v1/document_types/{document_type.pk}.json"),
        "id": document_type.pk,
        "name": document_type.name,
        "codeSii": document_type.code,
        "use": int(document_type.use),
        "isCreditNote": 1 if document_type.use == 1 else 0,
        "isElectronicDocument": int(document_type.is_electronic),
        "state": int(document_type.state),
    }


def document_json(document, *, expand: tuple[str, ...] = ()) -> dict:
    """``expand`` as the query gives it, e.g. ``("document_type", "user.office")``."""
    expiration = document.expiration_date
    user_expand = tuple(p.split(".", 1)[1] for p in expand if p.startswith("user."))
    expand_user = "user" in expand or bool(user_expand)
    return {
        "href": url(f"/v1/documents/{document.pk}.json"),
        "id": document.pk,
        "emissionDate": unix(document.emission_date),
        "expirationDate": None if expiration is None else unix(expiration),
        "generationDate": int(document.generation_date.timestamp()),
        "number": document.number,
        "totalAmount": money(document.total_amount),
        "netAmount": money(document.net_amount),
        "taxAmount": money(document.tax_amount),
        "exemptAmount": money(document.exempt_amount),
        "state": int(document.state),
        "document_type": (
            document_type_json(document.document_type)
            if "document_type" in expand
            else ref("document_types", document.document_type_id)
        ),
        "office": (
            office_json(document.office)
            if "office" in expand
            else ref("offices", document.office_id)
        ),
        "user": (
            user_json(document.user, expand=user_expand)
            if expand_user
            else ref("users", document.user_id)
        ),
    }


def seller_document_json(document) -> dict:
    return {
        "href": url(f"/v1/documents/{document.pk}.json"),
        "id": document.pk,
        "name": document.document_type.name,
        "number": document.number,
    }
