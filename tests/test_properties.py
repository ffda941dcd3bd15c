"""Property tests: any input to a parser is a valid result or ``InvalidInput``, nothing else;
any query string on a list endpoint is a 200 or a JSON 400, never a 500."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import quote, urlencode

import orjson
import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from common.bsale import parameters as bsale
from common.errors import InvalidInput
from common.renderers import money_json
from offices.resources import OFFICE_RESOURCE
from sales.resources import DOCUMENT_RESOURCE, DOCUMENT_TYPE_RESOURCE
from sales.services import NIT_MAX_LENGTH, HistoryEntryData, parse_history
from tests.factories import DocumentFactory
from users.resources import USER_RESOURCE

FAST = settings(max_examples=200, deadline=None)
HTTP = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
RESOURCES = [USER_RESOURCE, OFFICE_RESOURCE, DOCUMENT_TYPE_RESOURCE, DOCUMENT_RESOURCE]

# --- Strategies -----------------------------------------------------------------------------------

# Text a client might send, plus what a fuzzer would: brackets, commas, dots, signs, exponents,
# unicode digits (Arabic-Indic, fullwidth), NUL, huge numbers, whitespace of every kind.
WEIRD = st.sampled_from(
    [
        "[",
        "]",
        ",",
        ".",
        "-",
        "+",
        "e",
        "E",
        " ",
        "\t",
        "\n",
        "\x00",
        "_",
        "0x",
        "\u0661",
        "\uff11",
        "\u221e",
    ]
)
NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=-(2**64), max_value=2**64).map(str),
    st.sampled_from([str(2**63 - 1), str(2**63), str(-(2**63)), "9" * 400, "1" * 5000]),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
KEYS = st.sampled_from(
    sorted({k for r in RESOURCES for k in r.keys} | {"href", "id", "user.office", "a.b.c.d"})
)


def mixed_text(parts=KEYS):
    """Text built from meaningful pieces and noise, in any case."""
    piece = st.one_of(st.text(max_size=8), parts, NUMBERS, WEIRD)
    return (
        st.lists(piece, max_size=8)
        .map("".join)
        .flatmap(lambda text: st.sampled_from([text, text.upper(), text.lower(), f"[{text}]"]))
    )


ANY_TEXT = st.one_of(st.text(), mixed_text(), NUMBERS)

# --- Parsers of query parameters --------------------------------------------------------------------


def _outcome(func, *args):
    """The result, or None when the input was refused with InvalidInput (and only that)."""
    try:
        return func(*args)
    except InvalidInput as exc:
        assert isinstance(exc.message, str) and exc.message
        assert all(isinstance(m, list) and m for m in exc.errors.values())
        return None


@FAST
@given(raw=st.one_of(st.none(), ANY_TEXT), resource=st.sampled_from(RESOURCES))
def test_parse_fields(raw, resource):
    keys = _outcome(bsale.parse_fields, raw, resource)
    if keys is not None:
        assert all(key in resource.keys for key in keys)


def _tree_ok(tree, resource, depth=0) -> bool:
    if depth > bsale.MAX_EXPAND_DEPTH:
        return False
    relations = {r.key: r for r in resource.relations}
    return all(
        key in relations and _tree_ok(sub, relations[key].resource, depth + 1)
        for key, sub in tree.items()
    )


@FAST
@given(raw=st.one_of(st.none(), ANY_TEXT), resource=st.sampled_from(RESOURCES))
@example(raw="[user.office.x]", resource=DOCUMENT_RESOURCE)
@example(raw="user.office", resource=DOCUMENT_RESOURCE)
def test_parse_expand(raw, resource):
    tree = _outcome(bsale.parse_expand, raw, resource)
    if tree is not None:
        assert isinstance(tree, dict)
        assert _tree_ok(tree, resource)


@FAST
@given(raw=ANY_TEXT)
@example(raw=str(2**63))
@example(raw="253402300800")  # year 10000
@example(raw="-62135596801")  # before year 1
def test_parse_unix_date(raw):
    day = _outcome(bsale.parse_unix_date, raw, "startdate")
    if day is not None:
        assert isinstance(day, dt.date)


@FAST
@given(raw=st.one_of(ANY_TEXT, st.tuples(NUMBERS, NUMBERS).map(lambda p: f"[{p[0]},{p[1]}]")))
@example(raw="[1438560000,1438560000]")
@example(raw="[1438560001,1438560000]")
def test_parse_unix_date_range(raw):
    result = _outcome(bsale.parse_unix_date_range, raw, "emissiondaterange")
    if result is not None:
        start, end = result
        assert isinstance(start, dt.date) and isinstance(end, dt.date)
        assert start <= end


@FAST
@given(
    params=st.dictionaries(
        st.sampled_from(["limit", "offset", "other"]), st.one_of(ANY_TEXT, NUMBERS), max_size=3
    )
)
def test_parse_paging(params):
    result = _outcome(bsale.parse_paging, params)
    if result is not None:
        limit, offset = result
        assert 0 <= limit <= bsale.MAX_LIMIT
        assert 0 <= offset <= bsale.MAX_INT


# --- The history payload -------------------------------------------------------------------------------

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
)
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=20,
)
FECHAS = st.one_of(
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())).map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-12:00",
            "0001-01-01",
            "9999-12-31",
            "2024-02-30",
            "2024-03-01T10:30:00Z",
            "20240301",
            "2024-W09-5",
        ]
    ),
    st.text(max_size=30),
)
MONTOS = st.one_of(
    st.integers(min_value=-10, max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False).map(float),
    st.sampled_from([0, 0.1, 150000.5, 0.005, 1e-7, -0.0, 1e12, 999999999999.99, True]),
    st.text(max_size=10),
)
ENTRY = st.fixed_dictionaries(
    {
        "nit": st.one_of(st.text(max_size=40), st.sampled_from(["900123456-7", " ", "\x00"])),
        "monto": MONTOS,
        "fecha": FECHAS,
        "emc": st.one_of(st.text(max_size=20), st.sampled_from(["Postobón", ""])),
    },
    optional={"extra": ANY_JSON},
)
HISTORIES = st.one_of(
    ANY_JSON,
    st.lists(st.one_of(ENTRY, ANY_JSON), max_size=6),
    st.lists(ENTRY, max_size=6),
    # Duplicates on purpose: the same entry twice, or the same instant in two offsets.
    ENTRY.map(lambda e: [e, dict(e)]),
)


def _entry_ok(entry: HistoryEntryData) -> bool:
    return (
        isinstance(entry.nit, str)
        and 0 < len(entry.nit) <= NIT_MAX_LENGTH
        and "\x00" not in entry.nit
        and isinstance(entry.emc, str)
        and entry.emc.strip() == entry.emc != ""
        and isinstance(entry.amount, Decimal)
        and entry.amount.is_finite()
        and Decimal(0) <= entry.amount < Decimal(10) ** 12
        and entry.amount.as_tuple().exponent >= -2
        and entry.date.tzinfo is not None
        and entry.date.utcoffset() is not None
    )


@FAST
@given(raw=HISTORIES)
def test_parse_history(raw):
    entries = _outcome(parse_history, raw)
    if entries is not None:
        assert isinstance(raw, list) and len(entries) == len(raw)
        assert all(_entry_ok(entry) for entry in entries)
        assert len({entry.key for entry in entries}) == len(entries)


# --- Over HTTP: any query string -------------------------------------------------------------------------

USER_PARAMS = ["firstname", "lastname", "email", "officeid", "state", "limit", "offset"]
DOCUMENT_PARAMS = [
    "number",
    "documenttypeid",
    "officeid",
    "userid",
    "state",
    "emissiondate",
    "emissiondaterange",
    "limit",
    "offset",
]


def query_strings(names):
    pairs = st.lists(
        st.tuples(
            st.one_of(st.sampled_from([*names, "fields", "expand"]), st.text(max_size=6)),
            st.one_of(ANY_TEXT, NUMBERS),
        ),
        max_size=5,
    ).map(lambda items: urlencode(items, safe="[],"))
    # Raw: broken percent-escapes, invalid UTF-8 once decoded, stray separators.
    raw = st.lists(
        st.one_of(
            st.text(max_size=10).map(lambda t: quote(t, safe="=&[],")),
            st.sampled_from(["%", "%zz", "%C3", "%FF%FE", "&&", "==", "=", ";", "%00", "+"]),
            st.sampled_from(names).map(lambda n: f"{n}="),
        ),
        max_size=8,
    ).map("".join)
    return st.one_of(pairs, raw)


@pytest.fixture
def http_client(auth_client, settings):
    """A reader's client, some data to filter, and no rate limit in the way."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": None}}
    DocumentFactory.create_batch(3)
    cache.clear()
    yield auth_client
    cache.clear()


def _check(response):
    assert response.status_code in (200, 400), (response.status_code, response.content[:500])
    assert response["Content-Type"] == "application/json"
    body = response.json()
    if response.status_code == 400:
        assert isinstance(body["error"], str) and body["error"]
    else:
        assert "error" not in body


@HTTP
@given(query=query_strings(USER_PARAMS))
@example(query="limit=99999999999999999999999999&offset=-1")
@example(query="officeid=%00&state=%FF")
@example(query="fields=[firstname,LASTNAME]&expand=[office]")
def test_any_query_on_users_is_200_or_a_json_400(http_client, query):
    _check(http_client.get("/v1/users.json", QUERY_STRING=query))


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=query_strings(DOCUMENT_PARAMS))
@example(query="emissiondaterange=[253402300800,253402300801]")
@example(query="expand=[user.office,document_type]&number=1e3")
def test_any_query_on_documents_is_200_or_a_json_400(http_client, query):
    _check(http_client.get("/v1/documents.json", QUERY_STRING=query))


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=query_strings(["startdate", "enddate", "userid"]))
@example(query="startdate=-62135596801&enddate=253402300800")
def test_any_query_on_the_sales_summary_is_200_or_a_json_400(http_client, query):
    response = http_client.get("/v1/users/sales_summary.json", QUERY_STRING=query)
    if response.status_code == 404:  # an unknown userid
        assert response.json()["error"]
        return
    _check(response)


# --- Money in JSON --------------------------------------------------------------------------------

MONEY = st.decimals(
    min_value=Decimal("-999999999999.99"),
    max_value=Decimal("999999999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)


@FAST
@given(MONEY, st.sampled_from(["0", "0.0", "0.00"]))
@example(Decimal("255000.00"), "0.00")
@example(Decimal("0"), "0")
@example(Decimal("-40714.10"), "0.00")
def test_money_json_is_the_exact_amount_as_a_json_number(amount, zero):
    """Whatever its scale (PostgreSQL's sums keep 2 decimals, SQLite's may not)."""
    value = amount + Decimal(zero)
    text = orjson.dumps(money_json(value)).decode()
    assert Decimal(text) == amount
    assert "." in text and "e" not in text.lower()
    assert not text.endswith("0") or text.endswith(".0")  # no trailing zeros but one
    assert isinstance(orjson.loads(text), float)  # a number, not a string
