"""The history that PostgreSQL writes as JSON text equals the one Python builds, value for
value and in the same order, in every time zone (leancore.payloads)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import orjson
import pytest
from django.db import connection

from common.renderers import dumps
from leancore.payloads import leancore_history, leancore_history_json
from tests.factories import SalesHistoryEntryFactory, UserFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
WHENS = [
    dt.datetime(2024, 3, 1, 15, 30, tzinfo=UTC),
    dt.datetime(2024, 3, 1, 15, 30, 0, 250_000, tzinfo=UTC),  # microseconds shown
    dt.datetime(2024, 3, 1, 15, 30, 0, 1, tzinfo=UTC),
    dt.datetime(1890, 6, 1, 12, 0, tzinfo=UTC),  # local mean time: offsets with seconds
    dt.datetime(2023, 4, 2, 3, 30, tzinfo=UTC),  # around Chile's DST change
    dt.datetime(2023, 9, 3, 4, 30, tzinfo=UTC),
    dt.datetime(1, 1, 2, 0, 0, tzinfo=UTC),
    dt.datetime(9999, 12, 30, 23, 59, 59, tzinfo=UTC),
]
TEXTS = ["900123456-7", 'comillas "y" \\ barra', "Postobón", "ñandú", "Zeta", "a", "B", "\x01ctl"]
AMOUNTS = ["0", "0.01", "0.10", "150000.50", "255000.00", "999999999999.99", "7"]


@pytest.mark.parametrize(
    "zone", ["America/Lima", "America/Santiago", "Asia/Kolkata", "UTC", "Australia/Lord_Howe"]
)
def test_postgresql_writes_the_same_history_as_python(settings, zone):
    if connection.vendor != "postgresql":
        pytest.skip("the JSON text is PostgreSQL's; elsewhere it is the list itself")
    settings.TIME_ZONE = zone
    user = UserFactory()
    for i, when in enumerate(WHENS):
        for j, text in enumerate(TEXTS):
            SalesHistoryEntryFactory(
                user=user,
                date=when,
                nit=text,
                emc=TEXTS[(i + j) % len(TEXTS)],
                amount=Decimal(AMOUNTS[(i * 3 + j) % len(AMOUNTS)]),
            )
    rendered = orjson.dumps(leancore_history_json(user.pk))
    python = dumps(leancore_history(user.pk))
    # Exact texts: every number's digits as written, every string, the order.
    assert json.loads(rendered, parse_float=str) == json.loads(python, parse_float=str)
    assert len(json.loads(rendered)) == len(WHENS) * len(TEXTS)


def test_an_empty_history_is_an_empty_list():
    user = UserFactory()
    assert orjson.dumps(leancore_history_json(user.pk)) == b"[]"


def test_the_answers_carry_it(client, settings):
    """GET /user and the write answer the same history the service stored."""
    from tests.conftest import grant, token_for

    reader = UserFactory()
    grant(reader, "users.view_user", "users.change_sales_history")
    user = UserFactory()
    SalesHistoryEntryFactory(user=user, date=WHENS[1], nit="b", emc="x", amount=Decimal("1.50"))
    SalesHistoryEntryFactory(user=user, date=WHENS[1], nit="a", emc="x", amount=Decimal("2"))
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token_for(reader)}"}
    got = client.get("/user", {"id": str(user.uuid)}, **headers).json()["history"]
    assert got == json.loads(dumps(leancore_history(user.pk)))
    assert [h["nit"] for h in got] == ["a", "b"]
    assert [h["monto"] for h in got] == [2.0, 1.5]
