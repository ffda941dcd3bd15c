"""/v1/users.json, /v1/users/{id}.json, /v1/users/count.json (SPEC section 3, the seed's shape)."""

import pytest
from rest_framework.test import APIClient

from tests.api_helpers import (
    AUTH_QUERIES,
    assert_error,
    assert_exact,
    get,
    get_json,
    item_ids,
    office_json,
    ref,
    url,
    user_json,
)
from tests.conftest import token_for
from tests.factories import OfficeFactory, UserFactory

HUGE = "99999999999999999999999"


def test_a_user_has_exactly_the_seeds_shape(auth_client):
    office = OfficeFactory()
    user = UserFactory(
        first_name="Alejandro", last_name="Herrera", email="ah@gmail.com", office=office
    )
    expected = {
        "href": f"http://api.example.com/v1/users/{user.pk}.json",
        "id": user.pk,
        "firstName": "Alejandro",
        "lastName": "Herrera",
        "email": "ah@gmail.com",
        "state": 0,
        "office": {
            "href": f"http://api.example.com/v1/offices/{office.pk}.json",
            "id": str(office.pk),
        },
    }
    assert_exact(get_json(auth_client, f"/v1/users/{user.pk}.json"), expected)
    assert_exact(get_json(auth_client, f"/v1/users/{user.pk}"), expected)


def test_the_list_envelope_is_exactly_bsales(auth_client):
    office = OfficeFactory()
    first = UserFactory(
        first_name="Alejandro", last_name="Herrera", email="ah@gmail.com", office=office
    )
    second = UserFactory(
        first_name="Andrés",
        last_name="Oyarzo",
        email="aoyarzo@gmail.com",
        office=office,
        is_active=False,
    )
    UserFactory(office=office)
    payload = get_json(auth_client, "/v1/users.json", {"officeid": office.pk, "limit": 2})
    office_ref = ref("offices", office.pk)
    assert_exact(
        payload,
        {
            "href": url(f"/v1/users.json?officeid={office.pk}"),
            "count": 3,
            "limit": 2,
            "offset": 0,
            "items": [
                {
                    "href": url(f"/v1/users/{first.pk}.json"),
                    "id": first.pk,
                    "firstName": "Alejandro",
                    "lastName": "Herrera",
                    "email": "ah@gmail.com",
                    "state": 0,
                    "office": office_ref,
                },
                {
                    "href": url(f"/v1/users/{second.pk}.json"),
                    "id": second.pk,
                    "firstName": "Andrés",
                    "lastName": "Oyarzo",
                    "email": "aoyarzo@gmail.com",
                    "state": 1,
                    "office": office_ref,
                },
            ],
            "next": url(f"/v1/users.json?limit=2&offset=2&officeid={office.pk}"),
        },
    )


def test_a_user_without_office_has_office_null_expanded_or_not(auth_client, reader):
    for params in ({}, {"expand": "[office]"}):
        detail = get_json(auth_client, f"/v1/users/{reader.pk}.json", params)
        assert detail["office"] is None


@pytest.mark.parametrize("expand", [(), ("office",)])
def test_list_and_detail_agree_with_or_without_expand(auth_client, reader, expand):
    users = [reader, *UserFactory.create_batch(3)]
    params = {"expand": f"[{','.join(expand)}]"} if expand else {}
    listing = get_json(auth_client, "/v1/users.json", params)
    assert_exact(listing["items"], [user_json(u, expand=expand) for u in users])
    for user in users:
        detail = get_json(auth_client, f"/v1/users/{user.pk}.json", params)
        assert_exact(detail, user_json(user, expand=expand))


def test_unknown_user_is_a_404(auth_client, reader):
    for missing in (reader.pk + 1000, HUGE):
        body = assert_error(get(auth_client, f"/v1/users/{missing}.json"), 404)
        assert "user" in body["error"]


# --- Filters -----------------------------------------------------------------------------------


@pytest.fixture
def people(reader):
    """Named users; ``reader`` (active, no office) is in every unfiltered list too."""
    lima, cusco = OfficeFactory(name="Lima"), OfficeFactory(name="Cusco")
    return {
        "reader": reader,
        "ana": UserFactory(first_name="Ana", last_name="Pérez", email="ana@x.com", office=lima),
        "ana_g": UserFactory(
            first_name="ANA", last_name="Gómez", email="Ana.G@X.com", office=cusco, is_active=False
        ),
        "luis": UserFactory(first_name="Luis", last_name="pérez", email="luis@x.com", office=None),
        "offices": {"lima": lima, "cusco": cusco},
    }


FILTER_CASES = [
    ({"firstname": "ana"}, ["ana", "ana_g"]),
    ({"firstname": "ANA"}, ["ana", "ana_g"]),
    ({"firstname": "An"}, []),  # exact, not a prefix
    ({"lastname": "pérez"}, ["ana", "luis"]),
    ({"lastname": "gómez"}, ["ana_g"]),
    ({"email": "ANA@X.COM"}, ["ana"]),
    ({"email": "ana.g@x.com"}, ["ana_g"]),
    ({"email": "ana@x"}, []),
    ({"officeid": "{lima}"}, ["ana"]),
    ({"officeid": "{cusco}"}, ["ana_g"]),
    ({"officeid": "987654321"}, []),
    ({"state": "0"}, ["reader", "ana", "luis"]),
    ({"state": "1"}, ["ana_g"]),
    ({"firstname": "ana", "state": "0"}, ["ana"]),
    ({"lastname": "pérez", "officeid": "{lima}"}, ["ana"]),
    ({"clientid": "3", "state": "1"}, ["ana_g"]),  # unknown parameters are ignored
    ({"firstname": ""}, ["reader", "ana", "ana_g", "luis"]),  # empty means no filter
]


@pytest.mark.parametrize(("params", "expected"), FILTER_CASES)
def test_filters_on_list_and_count(auth_client, people, params, expected):
    offices = {name: office.pk for name, office in people["offices"].items()}
    params = {key: value.format(**offices) for key, value in params.items()}
    expected_ids = [people[name].pk for name in expected]
    listing = get_json(auth_client, "/v1/users.json", params)
    assert item_ids(listing) == expected_ids
    assert listing["count"] == len(expected_ids)
    assert_exact(
        get_json(auth_client, "/v1/users/count.json", params), {"count": len(expected_ids)}
    )


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("officeid", "abc"),
        ("officeid", "1.5"),
        ("officeid", HUGE),
        ("officeid", f"-{HUGE}"),
        ("state", "7"),
        ("state", "abc"),
        ("state", "-1"),
        ("state", "true"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/users.json", "/v1/users/count.json"])
def test_malformed_filters_are_a_400_naming_the_parameter(auth_client, path, param, value):
    assert_error(get(auth_client, path, {param: value}), 400, param)


# --- Queries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 50])
def test_the_list_makes_the_same_queries_whatever_the_page_size_and_expand(
    auth_client, django_assert_num_queries, limit
):
    office = OfficeFactory()
    UserFactory.create_batch(60, office=office)
    # auth + 1 count + 1 page (the office joined in): neither the page size nor the
    # expand adds a query.
    with django_assert_num_queries(AUTH_QUERIES + 2):
        payload = get_json(auth_client, "/v1/users.json", {"limit": limit, "expand": "[office]"})
    assert len(payload["items"]) == limit
    offices = [item["office"] for item in payload["items"][1:]]  # the first is the reader's
    assert offices == [office_json(office)] * (limit - 1)


def test_detail_and_count_queries(auth_client, reader, django_assert_num_queries):
    # auth + the row (the office joined in when expanded).
    with django_assert_num_queries(AUTH_QUERIES + 1):
        get_json(auth_client, f"/v1/users/{reader.pk}.json", {"expand": "[office]"})
    # auth + 1 count.
    with django_assert_num_queries(AUTH_QUERIES + 1):
        get_json(auth_client, "/v1/users/count.json", {"state": 0})


def test_an_empty_page_skips_the_page_query(auth_client, django_assert_num_queries):
    # auth + 1 count; the page is past the end, so there is no page query.
    with django_assert_num_queries(AUTH_QUERIES + 1):
        payload = get_json(auth_client, "/v1/users.json", {"offset": 5})
    assert payload["items"] == []


def test_a_superuser_makes_the_same_queries(admin_user, django_assert_num_queries):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(admin_user)}")
    # auth + 1 count + 1 page.
    with django_assert_num_queries(AUTH_QUERIES + 2):
        get_json(client, "/v1/users.json")


def test_unfiltered_and_filtered_lists_never_share_a_count(auth_client):
    """The unfiltered list's key query is compiled once and kept: a filtered list of the
    same model must still count only its own rows, before and after."""
    office = OfficeFactory()
    UserFactory.create_batch(2, office=office)
    UserFactory.create_batch(3, office=None)
    everyone = get_json(auth_client, "/v1/users.json")["count"]

    assert get_json(auth_client, "/v1/users.json", {"officeid": office.pk})["count"] == 2
    assert get_json(auth_client, "/v1/users.json")["count"] == everyone
    UserFactory(office=office)
    assert get_json(auth_client, "/v1/users.json")["count"] == everyone + 1
    assert get_json(auth_client, "/v1/users.json", {"officeid": office.pk})["count"] == 3
