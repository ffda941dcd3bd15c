"""The floor: per read scenario, the least work the contract allows.

Each view verifies the JWT (PyJWT, the same key and algorithm as the API), runs one
raw SQL query for the page and one for the exact count (the summary: one query),
builds plain dicts and hands them to ``orjson``. No DRF, no ORM, no django-filter, no
generic fields/expand machinery: each view serves exactly its scenario's shape
(users: ``expand=[office]``; documents: ``expand=[document_type,office,user]``).

They return the same JSON bytes as the real endpoints for the same query string
(tests/test_bench_equivalence.py), with every ``href`` pointing at the real ``/v1/``
URLs. The SQL is portable (PostgreSQL and SQLite), so that test runs on both.

What the floor leaves out, and the real API may not: looking the token's user up
(a deactivated account is locked out at once) and checking its permissions.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import jwt
import orjson
from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.urls import path

EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
JSON = "application/json"

_JWT = settings.SIMPLE_JWT
_KEY = _JWT["SIGNING_KEY"]
_ALGORITHMS = [_JWT["ALGORITHM"]]

OFFICE_COLUMNS = (
    "{o}.id, {o}.name, {o}.description, {o}.address, {o}.latitude, {o}.longitude, "
    "{o}.is_virtual, {o}.country, {o}.municipality, {o}.city, {o}.zip_code, "
    "{o}.cost_center, {o}.state"
)


def _error(status: int, message: str) -> HttpResponse:
    return HttpResponse(orjson.dumps({"error": message}), content_type=JSON, status=status)


def _authenticated(request) -> bool:
    """A valid, unexpired access token in ``Authorization: Bearer`` or ``access_token``."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()
    else:
        token = request.META.get("HTTP_ACCESS_TOKEN", "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
    if not token:
        return False
    try:
        claims = jwt.decode(token, _KEY, algorithms=_ALGORITHMS)
    except jwt.PyJWTError:
        return False
    return claims.get("token_type") == "access" and "user_id" in claims


def _int(raw: str | None, default: int) -> int | None:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def _paging(request) -> tuple[int, int] | None:
    limit = _int(request.GET.get("limit"), 25)
    offset = _int(request.GET.get("offset"), 0)
    if limit is None or offset is None:
        return None
    return min(limit, 50), offset


def _day(raw: str) -> dt.date:
    return dt.datetime.fromtimestamp(int(raw), tz=dt.UTC).date()


def _unix(day: dt.date) -> int:
    return (day.toordinal() - EPOCH_ORDINAL) * 86400


def _timestamp(value: dt.datetime) -> int:
    if value.tzinfo is None:  # SQLite hands naive UTC datetimes to raw cursors
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp())


def _envelope(request, path: str, count: int, limit: int, offset: int, items: list) -> bytes:
    base = f"{request.scheme}://{request.get_host()}"
    url = f"{base}{path}"
    pairs = [(k, v) for k, vs in request.GET.lists() if k not in ("limit", "offset") for v in vs]
    href = f"{url}?{urlencode(pairs, safe=',')}" if pairs else url
    body = {"href": href, "count": count, "limit": limit, "offset": offset, "items": items}
    if limit and offset + limit < count:
        paging = [("limit", limit), ("offset", offset + limit)]
        body["next"] = f"{url}?{urlencode(paging + pairs, safe=',')}"
    return orjson.dumps(body)


def _office(base: str, row: tuple, i: int) -> dict | None:
    if row[i] is None:
        return None
    return {
        "href": f"{base}/v1/offices/{row[i]}.json",
        "id": row[i],
        "name": row[i + 1],
        "description": row[i + 2],
        "address": row[i + 3],
        "latitude": row[i + 4],
        "longitude": row[i + 5],
        "isVirtual": 1 if row[i + 6] else 0,
        "country": row[i + 7],
        "municipality": row[i + 8],
        "city": row[i + 9],
        "zipCode": row[i + 10],
        "costCenter": row[i + 11],
        "state": row[i + 12],
    }


# --- GET /v1/users.json?expand=[office] ------------------------------------------------

USERS_PAGE = (
    "SELECT u.id, u.first_name, u.last_name, u.email, u.is_active, "
    + OFFICE_COLUMNS.format(o="o")
    + " FROM users_user u LEFT JOIN offices_office o ON o.id = u.office_id"
    " ORDER BY u.id LIMIT %s OFFSET %s"
)


def users_list(request):
    if not _authenticated(request):
        return _error(401, "Authentication credentials were not provided or are invalid.")
    paging = _paging(request)
    if paging is None:
        return _error(400, "limit and offset must be non-negative integers.")
    limit, offset = paging
    base = f"{request.scheme}://{request.get_host()}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM users_user")
        count = cursor.fetchone()[0]
        rows = []
        if limit and offset < count:
            cursor.execute(USERS_PAGE, [limit, offset])
            rows = cursor.fetchall()
    items = [
        {
            "href": f"{base}/v1/users/{r[0]}.json",
            "id": r[0],
            "firstName": r[1],
            "lastName": r[2],
            "email": r[3],
            "state": 0 if r[4] else 1,
            "office": _office(base, r, 5),
        }
        for r in rows
    ]
    body = _envelope(request, "/v1/users.json", count, limit, offset, items)
    return HttpResponse(body, content_type=JSON)


# --- GET /v1/users/{id}.json ---------------------------------------------------------------


def user_detail(request, pk: int):
    if not _authenticated(request):
        return _error(401, "Authentication credentials were not provided or are invalid.")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, first_name, last_name, email, is_active, office_id"
            " FROM users_user WHERE id = %s",
            [pk],
        )
        r = cursor.fetchone()
    if r is None:
        return _error(404, f"There is no user with id {pk}.")
    base = f"{request.scheme}://{request.get_host()}"
    office = r[5]
    body = {
        "href": f"{base}/v1/users/{r[0]}.json",
        "id": r[0],
        "firstName": r[1],
        "lastName": r[2],
        "email": r[3],
        "state": 0 if r[4] else 1,
        "office": None
        if office is None
        else {"href": f"{base}/v1/offices/{office}.json", "id": str(office)},
    }
    return HttpResponse(orjson.dumps(body), content_type=JSON)


# --- GET /v1/documents.json?emissiondaterange=[a,b]&expand=[document_type,office,user] ------

DOCUMENTS_WHERE = " FROM sales_document d WHERE d.emission_date BETWEEN %s AND %s"
DOCUMENTS_PAGE = (
    "SELECT d.id, d.emission_date, d.expiration_date, d.generation_date, d.number,"
    " CAST(d.total_amount AS DOUBLE PRECISION), CAST(d.net_amount AS DOUBLE PRECISION),"
    " CAST(d.tax_amount AS DOUBLE PRECISION), CAST(d.exempt_amount AS DOUBLE PRECISION),"
    " d.state, t.id, t.name, t.code, t.use, t.is_electronic, t.state, "
    + OFFICE_COLUMNS.format(o="o")
    + ", u.id, u.first_name, u.last_name, u.email, u.is_active, u.office_id"
    " FROM sales_document d"
    " INNER JOIN sales_documenttype t ON t.id = d.document_type_id"
    " LEFT JOIN offices_office o ON o.id = d.office_id"
    " LEFT JOIN users_user u ON u.id = d.user_id"
    " WHERE d.emission_date BETWEEN %s AND %s AND d.id >= %s"
    " ORDER BY d.id LIMIT %s OFFSET %s"
)


def _date_range(request, name: str) -> tuple[dt.date, dt.date] | None:
    raw = request.GET.get(name, "").strip().strip("[]")
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    try:
        start, end = (_day(p) for p in parts)
    except (ValueError, OverflowError, OSError):
        return None
    return (start, end) if start <= end else None


def documents_list(request):
    if not _authenticated(request):
        return _error(401, "Authentication credentials were not provided or are invalid.")
    paging = _paging(request)
    dates = _date_range(request, "emissiondaterange")
    if paging is None or dates is None:
        return _error(400, "Invalid limit, offset or emissiondaterange.")
    limit, offset = paging
    base = f"{request.scheme}://{request.get_host()}"
    with connection.cursor() as cursor:
        # The count and the first id in one scan; the page seeks from that id (without it,
        # PostgreSQL walks the primary key from the start of the table: see
        # common.bsale.payloads.count_and_first_pk).
        cursor.execute("SELECT COUNT(*), MIN(d.id)" + DOCUMENTS_WHERE, list(dates))
        count, first = cursor.fetchone()
        rows = []
        if limit and offset < count:
            cursor.execute(DOCUMENTS_PAGE, [*dates, first, limit, offset])
            rows = cursor.fetchall()
    items = []
    for r in rows:
        user = None
        if r[29] is not None:
            office_id = r[34]
            user = {
                "href": f"{base}/v1/users/{r[29]}.json",
                "id": r[29],
                "firstName": r[30],
                "lastName": r[31],
                "email": r[32],
                "state": 0 if r[33] else 1,
                "office": None
                if office_id is None
                else {"href": f"{base}/v1/offices/{office_id}.json", "id": str(office_id)},
            }
        items.append(
            {
                "href": f"{base}/v1/documents/{r[0]}.json",
                "id": r[0],
                "emissionDate": _unix(r[1]),
                "expirationDate": None if r[2] is None else _unix(r[2]),
                "generationDate": _timestamp(r[3]),
                "number": r[4],
                "totalAmount": r[5],
                "netAmount": r[6],
                "taxAmount": r[7],
                "exemptAmount": r[8],
                "state": r[9],
                "document_type": {
                    "href": f"{base}/v1/document_types/{r[10]}.json",
                    "id": r[10],
                    "name": r[11],
                    "codeSii": r[12],
                    "use": r[13],
                    "isCreditNote": 1 if r[13] == 1 else 0,
                    "isElectronicDocument": 1 if r[14] else 0,
                    "state": r[15],
                },
                "office": _office(base, r, 16),
                "user": user,
            }
        )
    body = _envelope(request, "/v1/documents.json", count, limit, offset, items)
    return HttpResponse(body, content_type=JSON)


# --- GET /v1/users/sales_summary.json?startdate=&enddate= ------------------------------------


def _summary_sql() -> str:
    column = "net_amount" if settings.SALES_SUMMARY_SUBTOTAL == "net" else "total_amount"
    signed = "CASE WHEN t.use = 0 THEN d.{c} WHEN t.use = 1 THEN -d.{c} END"
    amount, tax = signed.format(c=column), signed.format(c="tax_amount")
    # Summed per seller first, names joined to the ~1,000 groups (as sales.selectors).
    return (
        "SELECT s.seller, u.first_name, u.last_name,"
        " CAST(s.subtotal AS DOUBLE PRECISION), CAST(s.tax AS DOUBLE PRECISION),"
        " CAST(SUM(s.subtotal) OVER () AS DOUBLE PRECISION)"
        f" FROM (SELECT d.user_id AS seller, SUM({amount}) AS subtotal, SUM({tax}) AS tax"
        " FROM sales_document d"
        " INNER JOIN sales_documenttype t ON t.id = d.document_type_id"
        " WHERE d.state = 0 AND d.emission_date BETWEEN %s AND %s AND t.use IN (0, 1)"
        " AND d.user_id IS NOT NULL GROUP BY d.user_id) s"
        " INNER JOIN users_user u ON u.id = s.seller"
    )


def sales_summary(request):
    if not _authenticated(request):
        return _error(401, "Authentication credentials were not provided or are invalid.")
    try:
        start, end = _day(request.GET["startdate"]), _day(request.GET["enddate"])
    except (KeyError, ValueError, OverflowError, OSError):
        return _error(400, "startdate and enddate must be Unix timestamps.")
    if start > end:
        return _error(400, "startdate is after enddate.")
    with connection.cursor() as cursor:
        cursor.execute(_summary_sql(), [start, end])
        rows = cursor.fetchall()
    base = f"{request.scheme}://{request.get_host()}"
    first, last = _unix(start), _unix(end)
    dates = f"startdate={first}&enddate={last}"
    named = sorted(
        ((f"{r[1]} {r[2]}".strip(" "), r) for r in rows), key=lambda p: (p[0].casefold(), p[1][0])
    )
    sellers = [
        {
            "href": f"{base}/v1/users/{r[0]}.json",
            "id": r[0],
            "fullName": name,
            "subtotal": r[3],
            "taxSubtotal": r[4],
            "sales": {"href": f"{base}/v1/users/{r[0]}/sales.json?{dates}"},
            "returns": {"href": f"{base}/v1/users/{r[0]}/returns.json?{dates}"},
        }
        for name, r in named
    ]
    total = rows[0][5] if rows else 0.0
    body = {"startDate": first, "endDate": last, "total": total, "sellers": sellers}
    return HttpResponse(orjson.dumps(body), content_type=JSON)


# --- GET /v1/users/{id}/sales.json?startdate=&enddate= ---------------------------------------

SELLER_WHERE = (
    " FROM sales_document d INNER JOIN sales_documenttype t ON t.id = d.document_type_id"
    " WHERE d.user_id = %s AND d.state = 0 AND t.use = 0"
    " AND d.emission_date BETWEEN %s AND %s"
)


def user_sales(request, pk: int):
    if not _authenticated(request):
        return _error(401, "Authentication credentials were not provided or are invalid.")
    paging = _paging(request)
    try:
        start, end = _day(request.GET["startdate"]), _day(request.GET["enddate"])
    except (KeyError, ValueError, OverflowError, OSError):
        return _error(400, "startdate and enddate must be Unix timestamps.")
    if paging is None or start > end:
        return _error(400, "Invalid limit, offset, startdate or enddate.")
    limit, offset = paging
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*)" + SELLER_WHERE, [pk, start, end])
        count = cursor.fetchone()[0]
        rows = []
        if limit and offset < count:
            cursor.execute(
                "SELECT d.id, t.name, d.number"
                + SELLER_WHERE
                + " ORDER BY d.id LIMIT %s OFFSET %s",
                [pk, start, end, limit, offset],
            )
            rows = cursor.fetchall()
        elif count == 0:
            cursor.execute("SELECT 1 FROM users_user WHERE id = %s", [pk])
            if cursor.fetchone() is None:
                return _error(404, f"There is no user with id {pk}.")
    base = f"{request.scheme}://{request.get_host()}"
    items = [
        {"href": f"{base}/v1/documents/{r[0]}.json", "id": r[0], "name": r[1], "number": r[2]}
        for r in rows
    ]
    body = _envelope(request, f"/v1/users/{pk}/sales.json", count, limit, offset, items)
    return HttpResponse(body, content_type=JSON)


# Mounted by bench.urls (bench settings) and by tests/test_bench_equivalence.py.
urlpatterns = [
    path("bench/floor/v1/users.json", users_list, name="floor-users"),
    path("bench/floor/v1/users/sales_summary.json", sales_summary, name="floor-summary"),
    path("bench/floor/v1/users/<int:pk>.json", user_detail, name="floor-user"),
    path("bench/floor/v1/users/<int:pk>/sales.json", user_sales, name="floor-user-sales"),
    path("bench/floor/v1/documents.json", documents_list, name="floor-documents"),
]
