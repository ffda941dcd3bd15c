"""Leancore ``POST /update-user-sales-history`` and ``GET /user``, through HTTP (SPEC section 4)."""

import datetime as dt
import json
import math
import uuid
from decimal import Decimal

import jwt
import pytest
from django.conf import settings as django_settings
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from leancore.payloads import history_update_from_payload, leancore_user_payload
from sales.models import SalesHistoryEntry
from sales.services import MAX_HISTORY_ENTRIES
from tests.conftest import grant, token_for
from tests.factories import SalesHistoryEntryFactory, UserFactory
from users.models import AuditEntry

URL = "/update-user-sales-history"
USER_URL = "/user"
LIMA = dt.timezone(dt.timedelta(hours=-5))
USER_KEYS = [
    "id",
    "image",
    "name",
    "lastname",
    "business_name",
    "quota",
    "status",
    "phone",
    "email",
    "nit",
    "address",
    "history",
    "score",
    "payment_data",
    "apn_token",
    "ecosystem",
    "business_entity",
    "additional_data",
]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _lima(settings):
    settings.TIME_ZONE = "America/Lima"


@pytest.fixture
def integrator(db):
    """An API client allowed to update sales history."""
    user = UserFactory(username="leancore", office=None)
    grant(user, "users.change_sales_history", "users.view_user")
    return user


@pytest.fixture
def client(integrator):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(integrator)}")
    return client


@pytest.fixture
def merchant(db):
    return UserFactory(
        first_name="Rosa",
        last_name="Quispe",
        business_name="Bodega Rosa",
        quota=Decimal("1500000.00"),
        status="active",
        phone="+573001112233",
        nit="900555111-2",
        address="Calle 10 # 5-20",
        score=0.87,
        image="https://example.com/rosa.png",
        apn_token="apn-123",
        ecosystem="tiendas",
        business_entity="persona natural",
    )


def entry(nit="900123456-7", monto=150000.5, fecha="2024-03-01T10:30:00-05:00", emc="Postobón"):
    return {"nit": nit, "monto": monto, "fecha": fecha, "emc": emc}


def post(client, body, **extra):
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(URL, data=raw, content_type="application/json", **extra)


def body_for(user, history=None, **extra):
    body = {"user_id": str(user.uuid)}
    if history is not None:
        body["history"] = history
    body.update(extra)
    return body


# --- success and the response shape ---------------------------------------------------------


def test_merge_creates_entries_and_answers_the_full_leancore_user(client, merchant):
    response = post(client, body_for(merchant, [entry()]))

    assert response.status_code == 200, response.content
    data = response.json()
    assert list(data) == USER_KEYS
    assert data == {
        "id": str(merchant.uuid),
        "image": "https://example.com/rosa.png",
        "name": "Rosa",
        "lastname": "Quispe",
        "business_name": "Bodega Rosa",
        "quota": 1500000.0,
        "status": "active",
        "phone": "+573001112233",
        "email": merchant.email,
        "nit": "900555111-2",
        "address": "Calle 10 # 5-20",
        "history": [
            {
                "nit": "900123456-7",
                "monto": 150000.5,
                "fecha": "2024-03-01T10:30:00-05:00",
                "emc": "Postobón",
            }
        ],
        "score": 0.87,
        "payment_data": {},
        "apn_token": "apn-123",
        "ecosystem": "tiendas",
        "business_entity": "persona natural",
        "additional_data": {},
    }
    # Money is a JSON number written exactly, never a string.
    assert b'"quota":1500000.0' in response.content
    assert b'"monto":150000.5' in response.content
    row = SalesHistoryEntry.objects.get(user=merchant)
    assert row.amount == Decimal("150000.50")
    assert row.date == dt.datetime(2024, 3, 1, 15, 30, tzinfo=dt.UTC)


def test_types_of_every_key(client, merchant):
    merchant.score = None
    merchant.payment_data = {"bank": "BCP", "account": "123"}
    merchant.additional_data = {"segment": "A"}
    merchant.save()

    data = post(client, body_for(merchant, [entry(monto=100)])).json()

    assert isinstance(data["id"], str) and uuid.UUID(data["id"]) == merchant.uuid
    for key in USER_KEYS:
        if key in {"quota", "score", "history", "payment_data", "additional_data"}:
            continue
        assert isinstance(data[key], str), key
    assert isinstance(data["quota"], float)
    assert data["score"] is None
    assert data["payment_data"] == {"bank": "BCP", "account": "123"}
    assert data["additional_data"] == {"segment": "A"}
    (item,) = data["history"]
    assert list(item) == ["nit", "monto", "fecha", "emc"]
    assert isinstance(item["monto"], float) and item["monto"] == 100.0


def test_history_is_sorted_by_fecha_then_nit_then_emc(client, merchant):
    history = [
        entry(nit="B", fecha="2024-03-02", emc="Z"),
        entry(nit="B", fecha="2024-03-01", emc="Y"),
        entry(nit="A", fecha="2024-03-02", emc="Z"),
        entry(nit="B", fecha="2024-03-01", emc="X"),
        entry(nit="A", fecha="2024-03-02", emc="B"),
        entry(nit="a", fecha="2024-03-02", emc="B"),
    ]

    data = post(client, body_for(merchant, history)).json()

    got = [(h["fecha"][:10], h["nit"], h["emc"]) for h in data["history"]]
    assert got == [
        ("2024-03-01", "B", "X"),
        ("2024-03-01", "B", "Y"),
        ("2024-03-02", "A", "B"),
        ("2024-03-02", "A", "Z"),
        ("2024-03-02", "B", "Z"),
        ("2024-03-02", "a", "B"),
    ]


@pytest.mark.parametrize(
    ("monto", "text"),
    [(150000.5, b"150000.5"), (0, b"0.0"), (0.1, b"0.1"), (12, b"12.0"), (999999999999.99, None)],
)
def test_monto_is_an_exact_number(client, merchant, monto, text):
    response = post(client, body_for(merchant, [entry(monto=monto)]))

    assert response.status_code == 200, response.content
    assert response.json()["history"][0]["monto"] == monto
    if text:
        assert b'"monto":' + text + b"," in response.content


def test_history_absent_changes_nothing_and_returns_the_user(client, merchant):
    SalesHistoryEntryFactory(user=merchant)

    response = post(client, body_for(merchant))

    assert response.status_code == 200
    assert len(response.json()["history"]) == 1
    assert not AuditEntry.objects.exists()


def test_replace_without_history_changes_nothing(client, merchant):
    SalesHistoryEntryFactory(user=merchant)

    response = post(client, body_for(merchant, replace=True))

    assert response.status_code == 200
    assert SalesHistoryEntry.objects.filter(user=merchant).count() == 1


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fecha", "shown", "utc"),
    [
        ("2024-03-01", "2024-03-01T00:00:00-05:00", dt.datetime(2024, 3, 1, 5, 0)),
        ("2024-03-01T10:30:00", "2024-03-01T10:30:00-05:00", dt.datetime(2024, 3, 1, 15, 30)),
        ("2024-03-01T10:30", "2024-03-01T10:30:00-05:00", dt.datetime(2024, 3, 1, 15, 30)),
        ("2024-03-01T15:30:00Z", "2024-03-01T10:30:00-05:00", dt.datetime(2024, 3, 1, 15, 30)),
        (
            "2024-03-01T12:30:00+02:00",
            "2024-03-01T05:30:00-05:00",
            dt.datetime(2024, 3, 1, 10, 30),
        ),
        (
            "2024-03-01T10:30:00.250-05:00",
            "2024-03-01T10:30:00.250000-05:00",
            dt.datetime(2024, 3, 1, 15, 30, 0, 250000),
        ),
    ],
)
def test_dates_and_naive_datetimes_are_in_the_configured_time_zone(
    client, merchant, fecha, shown, utc
):
    response = post(client, body_for(merchant, [entry(fecha=fecha)]))

    assert response.status_code == 200, response.content
    assert response.json()["history"][0]["fecha"] == shown
    assert SalesHistoryEntry.objects.get().date == utc.replace(tzinfo=dt.UTC)


def test_the_same_instant_with_another_offset_is_the_same_entry(client, merchant):
    post(client, body_for(merchant, [entry(fecha="2024-03-01T10:30:00-05:00", monto=1)]))

    response = post(client, body_for(merchant, [entry(fecha="2024-03-01T15:30:00Z", monto=2)]))

    assert response.status_code == 200
    assert [h["monto"] for h in response.json()["history"]] == [2.0]


# --- merge, replace, idempotence, audit ---------------------------------------------------------


def test_merge_updates_matching_entries_adds_new_ones_and_removes_nothing(client, merchant):
    post(client, body_for(merchant, [entry(emc="A", monto=1), entry(emc="B", monto=2)]))

    response = post(client, body_for(merchant, [entry(emc="B", monto=20), entry(emc="C", monto=3)]))

    assert response.status_code == 200
    got = {h["emc"]: h["monto"] for h in response.json()["history"]}
    assert got == {"A": 1.0, "B": 20.0, "C": 3.0}


def test_replace_makes_the_history_exactly_the_list_sent(client, merchant):
    post(client, body_for(merchant, [entry(emc="A", monto=1), entry(emc="B", monto=2)]))

    response = post(
        client,
        body_for(merchant, [entry(emc="B", monto=2), entry(emc="C", monto=3)], replace=True),
    )

    assert response.status_code == 200
    got = {h["emc"]: h["monto"] for h in response.json()["history"]}
    assert got == {"B": 2.0, "C": 3.0}


def test_replace_with_an_empty_list_clears_the_history(client, merchant):
    SalesHistoryEntryFactory.create_batch(3, user=merchant)
    other = SalesHistoryEntryFactory()

    response = post(client, body_for(merchant, [], replace=True))

    assert response.status_code == 200
    assert response.json()["history"] == []
    assert list(SalesHistoryEntry.objects.all()) == [other]


def test_sending_the_same_request_twice_changes_nothing_the_second_time(client, merchant):
    body = body_for(merchant, [entry(emc="A"), entry(emc="B", monto=7)])
    first = post(client, body)
    stamps = list(SalesHistoryEntry.objects.values_list("pk", "updated_at").order_by("pk"))
    audits = AuditEntry.objects.count()

    second = post(client, body)

    assert second.status_code == 200
    assert second.json() == first.json()
    assert list(SalesHistoryEntry.objects.values_list("pk", "updated_at").order_by("pk")) == stamps
    assert AuditEntry.objects.count() == audits == 1


def test_every_change_is_audited_with_actor_source_before_and_after(client, merchant, integrator):
    post(client, body_for(merchant, [entry(emc="A", monto=1)]))

    post(client, body_for(merchant, [entry(emc="A", monto=5), entry(emc="B", monto=2)]))

    audit = AuditEntry.objects.order_by("-id").first()
    assert audit.user == merchant
    assert audit.actor == integrator
    assert audit.actor_repr == "leancore"
    assert audit.source == AuditEntry.Source.API
    assert audit.field == AuditEntry.Field.HISTORY
    fecha = "2024-03-01T10:30:00-05:00"
    assert audit.before == [{"nit": "900123456-7", "monto": "1.00", "fecha": fecha, "emc": "A"}]
    assert audit.after == [
        {"nit": "900123456-7", "monto": "5.00", "fecha": fecha, "emc": "A"},
        {"nit": "900123456-7", "monto": "2.00", "fecha": fecha, "emc": "B"},
    ]


def test_replace_audits_the_removed_entries(client, merchant):
    post(client, body_for(merchant, [entry(emc="A", monto=1)]))

    post(client, body_for(merchant, [], replace=True))

    audit = AuditEntry.objects.order_by("-id").first()
    assert audit.before == [
        {"nit": "900123456-7", "monto": "1.00", "fecha": "2024-03-01T10:30:00-05:00", "emc": "A"}
    ]
    assert audit.after == []


# --- validation: every rule, and nothing written -------------------------------------------------


@pytest.mark.parametrize(
    ("item", "field", "message"),
    [
        (entry(monto="150000.5"), "monto", "must be a number"),
        (entry(monto=True), "monto", "must be a number"),
        (entry(monto=None), "monto", "must be a number"),
        (entry(monto=[1]), "monto", "must be a number"),
        (entry(monto=-1), "monto", "greater than or equal to 0"),
        (entry(monto=-0.01), "monto", "greater than or equal to 0"),
        (entry(monto=1.234), "monto", "at most 2 decimals"),
        (entry(monto=0.1 + 0.2), "monto", "at most 2 decimals"),
        (entry(monto=1e20), "monto", "at most 999999999999.99"),
        (entry(monto=10**15), "monto", "at most"),
        (entry(nit=""), "nit", "must not be empty"),
        (entry(nit="   "), "nit", "must not be empty"),
        (entry(nit="9" * 33), "nit", "at most 32 characters"),
        (entry(nit=900123456), "nit", "must be a string"),
        (entry(nit="90\u00000"), "nit", "NUL"),
        (entry(emc=""), "emc", "must not be empty"),
        (entry(emc=None), "emc", "must be a string"),
        (entry(emc="x" * 201), "emc", "at most 200 characters"),
        (entry(fecha=""), "fecha", "ISO 8601"),
        (entry(fecha="ayer"), "fecha", "ISO 8601"),
        (entry(fecha="2024-02-30"), "fecha", "ISO 8601"),
        (entry(fecha="2024-13-01T10:00:00"), "fecha", "ISO 8601"),
        (entry(fecha="01/03/2024"), "fecha", "ISO 8601"),
        (entry(fecha=20240301), "fecha", "ISO 8601"),
        (entry(fecha=True), "fecha", "ISO 8601"),
        (entry(fecha="9999-12-31T23:00:00-05:00"), "fecha", "out of range"),
        (entry(fecha="0001-01-01T00:00:00+05:00"), "fecha", "out of range"),
        ({"nit": "1", "monto": 1, "fecha": "2024-03-01"}, "emc", "required"),
        ({**entry(), "extra": 1}, "extra", "unknown field"),
        ({**entry(), "Monto": 1}, "Monto", "unknown field"),
    ],
)
def test_a_bad_entry_is_a_400_naming_its_index_and_field(client, merchant, item, field, message):
    response = post(client, body_for(merchant, [entry(emc="ok"), item]))

    assert response.status_code == 400, response.content
    data = response.json()
    path = f"history[1].{field}"
    assert list(data["errors"]) == [path]
    assert message in data["errors"][path][0]
    assert data["error"].startswith(f"Invalid {path}: ")
    assert not SalesHistoryEntry.objects.exists()
    assert not AuditEntry.objects.exists()


def test_an_entry_that_is_not_an_object_is_named_by_its_index(client, merchant):
    response = post(client, body_for(merchant, [entry(), "nope"]))

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["history[1]"]


def test_every_bad_entry_is_reported_at_once(client, merchant):
    response = post(client, body_for(merchant, [entry(monto=-1), entry(emc="x"), entry(nit="")]))

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"history[0].monto", "history[2].nit"}
    assert "(2 errors in all)" in response.json()["error"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_a_400(client, merchant, constant):
    raw = (
        f'{{"user_id": "{merchant.uuid}", "history": [{{"nit": "1", "monto": {constant}, '
        f'"fecha": "2024-03-01", "emc": "x"}}]}}'
    )

    response = post(client, raw)

    assert response.status_code == 400
    assert "error" in response.json()
    assert not SalesHistoryEntry.objects.exists()


def test_a_huge_exponent_is_a_400_not_a_500(client, merchant):
    raw = (
        f'{{"user_id": "{merchant.uuid}", "history": [{{"nit": "1", "monto": 1e400, '
        f'"fecha": "2024-03-01", "emc": "x"}}]}}'
    )

    response = post(client, raw)

    assert response.status_code == 400


def test_lone_surrogates_are_a_400_not_a_500(client, merchant):
    entry_raw = '{"nit": "\\ud800", "monto": 1, "fecha": "2024-03-01", "emc": "x", "\\udfff": 1}'
    raw = f'{{"user_id": "{merchant.uuid}", "history": [{entry_raw}], "\\ud800": 1}}'

    response = post(client, raw)

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"\\ud800"}  # the top level is checked first

    raw = f'{{"user_id": "{merchant.uuid}", "history": [{entry_raw}]}}'
    response = post(client, raw)

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"history[0].nit", "history[0].\\udfff"}


def test_duplicate_entries_in_one_request_are_a_400(client, merchant):
    response = post(
        client,
        body_for(
            merchant,
            [
                entry(monto=1),
                entry(emc="other"),
                entry(monto=2, fecha="2024-03-01T15:30:00Z"),  # the same instant
            ],
        ),
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["history[2]"]
    assert "duplicates entry 0" in errors["history[2]"][0]
    assert not SalesHistoryEntry.objects.exists()


def test_all_or_nothing_when_the_last_entry_is_bad(client, merchant):
    SalesHistoryEntryFactory(user=merchant, emc="kept", amount=Decimal("5.00"))
    history = [entry(emc=f"emc{i}") for i in range(500)] + [
        entry(emc="kept", monto=9),
        entry(monto="bad"),
    ]

    response = post(client, body_for(merchant, history, replace=True))

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["history[501].monto"]
    assert list(SalesHistoryEntry.objects.values_list("emc", "amount")) == [
        ("kept", Decimal("5.00"))
    ]
    assert not AuditEntry.objects.exists()


def test_more_than_10000_entries_is_a_400_saying_so(client, merchant):
    history = [entry(emc=f"e{i}") for i in range(MAX_HISTORY_ENTRIES + 1)]

    response = post(client, body_for(merchant, history))

    assert response.status_code == 400
    data = response.json()
    assert "10001 entries" in data["error"]
    assert "at most 10000" in data["error"]
    assert data["errors"] == {"history": ["at most 10000 entries"]}
    assert not SalesHistoryEntry.objects.exists()


def test_exactly_10000_entries_are_accepted(client, merchant):
    start = dt.datetime(2024, 1, 1, tzinfo=LIMA)
    history = [
        entry(emc=f"e{i % 7}", fecha=(start + dt.timedelta(minutes=i)).isoformat(), monto=i)
        for i in range(MAX_HISTORY_ENTRIES)
    ]

    response = post(client, body_for(merchant, history))

    assert response.status_code == 200
    assert len(response.json()["history"]) == MAX_HISTORY_ENTRIES
    assert SalesHistoryEntry.objects.filter(user=merchant).count() == MAX_HISTORY_ENTRIES


# --- the body ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "user_id", ["not-a-uuid", "", 123, None, ["6f1c"], "6f1c0b7e-0000-0000-0000-00000000000"]
)
def test_a_malformed_user_id_is_a_400_naming_it(client, merchant, user_id):
    response = post(client, {"user_id": user_id, "history": [entry()]})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["user_id"]


def test_a_missing_user_id_is_a_400(client):
    response = post(client, {"history": [entry()]})

    assert response.status_code == 400
    assert response.json()["errors"] == {"user_id": ["this field is required"]}


def test_an_unknown_user_is_a_404(client):
    response = post(client, {"user_id": str(uuid.uuid4()), "history": [entry()]})

    assert response.status_code == 404
    assert "error" in response.json()
    assert not SalesHistoryEntry.objects.exists()


def test_user_id_without_hyphens_or_in_capitals_is_accepted(client, merchant):
    assert post(client, {"user_id": merchant.uuid.hex}).status_code == 200
    assert post(client, {"user_id": str(merchant.uuid).upper()}).status_code == 200


def test_unknown_top_level_keys_are_a_400(client, merchant):
    response = post(client, body_for(merchant, [entry()], historia=[]))

    assert response.status_code == 400
    assert response.json()["errors"] == {"historia": ["unknown field"]}
    assert not SalesHistoryEntry.objects.exists()


@pytest.mark.parametrize("replace", ["true", 1, 0, None, "yes"])
def test_replace_must_be_a_boolean(client, merchant, replace):
    response = post(client, body_for(merchant, [entry()], replace=replace))

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["replace"]


@pytest.mark.parametrize("history", [None, {}, "[]", 1])
def test_history_must_be_a_list(client, merchant, history):
    body = {"user_id": str(merchant.uuid), "history": history}

    response = post(client, body)

    assert response.status_code == 400
    assert response.json()["errors"] == {"history": ["must be a list"]}


@pytest.mark.parametrize("raw", ['[{"user_id": "x"}]', '"text"', "1", "null", "[]"])
def test_a_body_that_is_not_an_object_is_a_400(client, raw):
    response = post(client, raw)

    assert response.status_code == 400
    assert response.json()["error"] == "The body must be a JSON object."


@pytest.mark.parametrize("raw", ['{"user_id": ', "{'user_id': 1}", "\xff", ""])
def test_malformed_json_is_a_400_with_an_error(client, raw):
    response = post(client, raw)

    assert response.status_code == 400
    assert set(response.json()) <= {"error", "errors"}
    assert response.json()["error"]


# --- authentication and permission --------------------------------------------------------------


def test_no_token_is_a_401(merchant):
    response = post(APIClient(), body_for(merchant, [entry()]))

    assert response.status_code == 401
    assert "error" in response.json()
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_forged_token_is_a_401(merchant, integrator):
    payload = AccessToken.for_user(integrator).payload
    forged = jwt.encode(payload, "not-the-signing-key-" * 3, algorithm="HS256")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")

    response = post(client, body_for(merchant, [entry()]))

    assert response.status_code == 401
    assert not SalesHistoryEntry.objects.exists()


def test_an_expired_token_is_a_401(merchant, integrator):
    token = AccessToken.for_user(integrator)
    token.set_exp(from_time=token.current_time - dt.timedelta(hours=2))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = post(client, body_for(merchant, [entry()]))

    assert response.status_code == 401
    assert "error" in response.json()


def test_a_deactivated_accounts_token_stops_working_at_once(client, merchant, integrator):
    assert post(client, body_for(merchant)).status_code == 200
    integrator.is_active = False
    integrator.save()

    response = post(client, body_for(merchant, [entry()]))

    assert response.status_code == 401
    assert not SalesHistoryEntry.objects.exists()


def test_without_the_history_permission_it_is_a_403(merchant):
    reader = UserFactory(office=None)
    grant(reader, "users.view_user", "users.change_user")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(reader)}")

    response = post(client, body_for(merchant, [entry()]))

    assert response.status_code == 403
    assert "error" in response.json()
    assert not SalesHistoryEntry.objects.exists()


def test_a_user_cannot_update_their_own_history_without_the_permission(merchant):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(merchant)}")

    assert post(client, body_for(merchant, [entry()])).status_code == 403


def test_a_superuser_may_update(merchant, admin_user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(admin_user)}")

    assert post(client, body_for(merchant, [entry()])).status_code == 200


def test_the_access_token_header_works_like_bearer(merchant, integrator):
    client = APIClient()
    client.credentials(HTTP_ACCESS_TOKEN=token_for(integrator))

    response = post(client, body_for(merchant, [entry()]))

    assert response.status_code == 200
    assert AuditEntry.objects.get().actor == integrator


def test_a_bad_access_token_header_is_a_401(merchant):
    client = APIClient()
    client.credentials(HTTP_ACCESS_TOKEN="garbage")

    assert post(client, body_for(merchant, [entry()])).status_code == 401


def test_other_methods_are_a_405(client):
    response = client.get(URL)

    assert response.status_code == 405
    assert "error" in response.json()


# --- queries -------------------------------------------------------------------------------------


def _history(n: int, emc: str = "Postobón") -> list[dict]:
    start = dt.datetime(2024, 1, 1, tzinfo=LIMA)
    return [
        entry(fecha=(start + dt.timedelta(minutes=i)).isoformat(), monto=i, emc=emc)
        for i in range(n)
    ]


def _upsert_statements(n: int) -> int:
    """How many INSERT ... ON CONFLICT statements ``n`` new entries take on this database.

    PostgreSQL: one per 2,000 rows (sales.history_sql.UPSERT_BATCH_SIZE), so one for 1,000
    and for 2,000. SQLite: Django caps a statement at 999 parameters, 7 per row, so 142
    rows per statement; that is SQLite's limit, not a per-row query.
    """
    fields = [
        f
        for f in SalesHistoryEntry._meta.concrete_fields
        if not f.primary_key  # the id is generated
    ]
    per_statement = min(2000, connection.ops.bulk_batch_size(fields, [None] * n))
    return math.ceil(n / per_statement)


# At most: 1-3 the token's user and the caller's permissions (one to three queries,
# depending on how common.authentication loads them), 4 the user by uuid, 5-6
# SAVEPOINT/RELEASE (the service's transaction: the test already runs in one; in
# production it is BEGIN/COMMIT), 7 the row lock (SELECT ... FOR UPDATE), 8 the user's
# current history, 9 the audit row, 10 the user's fields and 11 the history for the
# response. Plus the upserts (``_upsert_statements``).
MAX_FIXED_QUERIES = 11


def _split(captured) -> tuple[list, list]:
    queries = captured.captured_queries
    upserts = [q for q in queries if "INSERT INTO" in q["sql"] and "saleshistoryentry" in q["sql"]]
    return upserts, [q for q in queries if q not in upserts]


def test_a_big_update_runs_a_constant_number_of_queries(client, django_assert_max_num_queries):
    others = {}
    for n in (1000, 2000):
        merchant = UserFactory()
        SalesHistoryEntryFactory.create_batch(50, user=merchant, emc="old")
        body = body_for(merchant, _history(n))

        with django_assert_max_num_queries(MAX_FIXED_QUERIES + _upsert_statements(n)) as captured:
            response = post(client, body)

        assert response.status_code == 200
        assert len(response.json()["history"]) == n + 50
        upserts, others[n] = _split(captured)
        assert len(upserts) == _upsert_statements(n)
        if connection.vendor == "postgresql":
            assert len(upserts) == 1
    # Nothing but the upserts grows with the number of entries (on PostgreSQL not even those).
    assert len(others[1000]) == len(others[2000]) <= MAX_FIXED_QUERIES


def test_an_idempotent_repeat_of_a_big_update_writes_nothing(
    client, merchant, django_assert_max_num_queries
):
    body = body_for(merchant, _history(1000))
    post(client, body)

    # The same as above without the upserts and the audit row.
    with django_assert_max_num_queries(MAX_FIXED_QUERIES - 1) as captured:
        response = post(client, body)

    assert response.status_code == 200
    assert not [q for q in captured.captured_queries if "INSERT" in q["sql"].upper()]


# --- the functions the users viewset reuses ------------------------------------------------------


def test_history_update_from_payload_is_the_same_operation(merchant, integrator):
    data = history_update_from_payload(
        user=merchant, payload={"history": [entry()], "replace": False}, actor=integrator
    )

    assert list(data) == USER_KEYS
    assert data["history"][0]["monto"] == Decimal("150000.50")
    assert AuditEntry.objects.get().source == AuditEntry.Source.API


def test_history_update_from_payload_refuses_user_id(merchant, integrator):
    from common.errors import InvalidInput

    with pytest.raises(InvalidInput) as exc:
        history_update_from_payload(
            user=merchant, payload={"user_id": str(merchant.uuid)}, actor=integrator
        )

    assert exc.value.errors == {"user_id": ["unknown field"]}


def test_leancore_user_payload_takes_a_user_or_a_pk(merchant):
    assert leancore_user_payload(merchant) == leancore_user_payload(merchant.pk)


# --- GET /user -----------------------------------------------------------------------------------


@pytest.fixture
def viewer(db):
    user = UserFactory(username="viewer", office=None)
    grant(user, "users.view_user")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    return client


def test_get_user_by_id(viewer, merchant):
    SalesHistoryEntryFactory(user=merchant)

    response = viewer.get(USER_URL, {"id": str(merchant.uuid)})

    assert response.status_code == 200
    data = response.json()
    assert list(data) == USER_KEYS
    assert data["id"] == str(merchant.uuid)
    assert data["history"] == [
        {
            "nit": "900123456-7",
            "monto": 150000.5,
            "fecha": data["history"][0]["fecha"],
            "emc": "Postobón",
        }
    ]


def test_get_user_answers_the_same_object_as_the_update(viewer, client, merchant):
    updated = post(client, body_for(merchant, [entry()])).json()

    assert viewer.get(USER_URL, {"id": str(merchant.uuid)}).json() == updated


def test_get_user_by_nit_and_by_phone(viewer, merchant):
    UserFactory()

    by_nit = viewer.get(USER_URL, {"nit": merchant.nit})
    by_phone = viewer.get(USER_URL, {"phone": merchant.phone})
    # "+" unencoded in a query string arrives as a space; it still finds the phone.
    by_raw_phone = viewer.get(f"{USER_URL}?phone={merchant.phone}")

    for response in (by_nit, by_phone, by_raw_phone):
        assert response.status_code == 200
        assert response.json()["id"] == str(merchant.uuid)


def test_get_user_with_several_parameters_needs_all_to_match(viewer, merchant):
    assert viewer.get(USER_URL, {"id": str(merchant.uuid), "nit": merchant.nit}).status_code == 200
    assert viewer.get(USER_URL, {"id": str(merchant.uuid), "nit": "other"}).status_code == 404


@pytest.mark.parametrize("params", [{"id": str(uuid.UUID(int=1))}, {"nit": "000"}, {"phone": "+1"}])
def test_get_user_nobody_matches_is_a_404(viewer, merchant, params):
    response = viewer.get(USER_URL, params)

    assert response.status_code == 404
    assert "error" in response.json()


@pytest.mark.parametrize(
    ("params", "field"),
    [({}, "id"), ({"id": "abc"}, "id"), ({"nit": " "}, "nit"), ({"other": "1"}, "id")],
)
def test_get_user_without_a_usable_parameter_is_a_400(viewer, params, field):
    response = viewer.get(USER_URL, params)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_get_user_with_a_nul_character_is_a_400(viewer):
    response = viewer.get(f"{USER_URL}?nit=90%00")

    assert response.status_code == 400
    assert "nit" in response.json()["errors"]


def test_get_user_when_a_nit_matches_several_users_is_a_409(viewer):
    UserFactory(nit="800100200-1")
    UserFactory(nit="800100200-1")

    response = viewer.get(USER_URL, {"nit": "800100200-1"})

    assert response.status_code == 409
    assert response.json()["errors"] == {"nit": ["matches more than one user"]}


def test_a_user_may_read_their_own_profile_without_view_user(merchant):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(merchant)}")

    assert client.get(USER_URL, {"id": str(merchant.uuid)}).status_code == 200
    assert client.get(USER_URL, {"nit": merchant.nit}).status_code == 200


def test_reading_someone_else_without_view_user_is_a_403_whether_or_not_they_exist(merchant):
    other = UserFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(merchant)}")

    assert client.get(USER_URL, {"id": str(other.uuid)}).status_code == 403
    assert client.get(USER_URL, {"id": str(uuid.uuid4())}).status_code == 403
    assert client.get(USER_URL, {"id": "abc"}).status_code == 400


def test_get_user_needs_a_token(merchant):
    assert APIClient().get(USER_URL, {"id": str(merchant.uuid)}).status_code == 401


def test_get_user_runs_a_constant_number_of_queries(
    viewer, merchant, django_assert_max_num_queries
):
    # 1-3 the token's user and the caller's permissions, 4 the user, 5 the history
    counts = []
    for size in (3, 300):
        SalesHistoryEntryFactory.create_batch(size, user=merchant)
        with django_assert_max_num_queries(5) as captured:
            response = viewer.get(USER_URL, {"id": str(merchant.uuid)})
        counts.append(len(captured))
    assert len(response.json()["history"]) == 303
    assert counts[0] == counts[1]


def test_settings_are_what_these_tests_assume():
    assert django_settings.SIMPLE_JWT["AUTH_HEADER_TYPES"] == ("Bearer",)
