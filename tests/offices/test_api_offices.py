"""/v1/offices.json, /v1/offices/{id}.json, /v1/offices/count.json."""

import pytest

from tests.api_helpers import (
    AUTH_QUERIES,
    assert_error,
    assert_exact,
    get,
    get_json,
    item_ids,
    office_json,
)
from tests.factories import OfficeFactory

HUGE = "99999999999999999999999"


def test_an_office_has_exactly_the_specified_shape(auth_client):
    office = OfficeFactory(
        name="Casa Matriz",
        description="Tienda principal",
        address="Av. Larco 101",
        latitude="-12.1219",
        longitude="-77.0297",
        is_virtual=True,
        country="Perú",
        municipality="Miraflores",
        city="Lima",
        zip_code="15074",
        cost_center="CC-001",
        state=1,
    )
    expected = {
        "href": f"http://api.example.com/v1/offices/{office.pk}.json",
        "id": office.pk,
        "name": "Casa Matriz",
        "description": "Tienda principal",
        "address": "Av. Larco 101",
        "latitude": "-12.1219",
        "longitude": "-77.0297",
        "isVirtual": 1,
        "country": "Perú",
        "municipality": "Miraflores",
        "city": "Lima",
        "zipCode": "15074",
        "costCenter": "CC-001",
        "state": 1,
    }
    assert_exact(get_json(auth_client, f"/v1/offices/{office.pk}.json"), expected)
    assert_exact(get_json(auth_client, "/v1/offices.json")["items"], [expected])


def test_blank_strings_stay_strings_and_false_is_0(auth_client):
    office = OfficeFactory(description="", latitude="", longitude="", zip_code="", is_virtual=False)
    detail = get_json(auth_client, f"/v1/offices/{office.pk}")
    assert_exact(detail, office_json(office))
    assert (detail["latitude"], detail["isVirtual"]) == ("", 0)


def test_list_envelope(auth_client):
    offices = OfficeFactory.create_batch(3)
    payload = get_json(auth_client, "/v1/offices.json", {"limit": 2})
    assert_exact(
        payload,
        {
            "href": "http://api.example.com/v1/offices.json",
            "count": 3,
            "limit": 2,
            "offset": 0,
            "items": [office_json(o) for o in offices[:2]],
            "next": "http://api.example.com/v1/offices.json?limit=2&offset=2",
        },
    )


@pytest.mark.parametrize("fields", ["[name,city]", "NAME,City"])
def test_fields(auth_client, fields):
    office = OfficeFactory(name="Centro", city="Cusco")
    detail = get_json(auth_client, f"/v1/offices/{office.pk}.json", {"fields": fields})
    assert list(detail) == ["href", "id", "name", "city"]
    assert (detail["name"], detail["city"]) == ("Centro", "Cusco")


def test_unknown_office_is_a_404(auth_client):
    for missing in ("424242", HUGE):
        body = assert_error(get(auth_client, f"/v1/offices/{missing}.json"), 404)
        assert "office" in body["error"]


# --- Filters -------------------------------------------------------------------------------------


@pytest.fixture
def offices(db):
    return {
        "matriz": OfficeFactory(name="Casa Matriz", city="Lima"),
        "norte": OfficeFactory(name="Sucursal Norte", city="Trujillo", state=1),
        "sur": OfficeFactory(name="Sucursal Sur", city="LIMA"),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"name": "casa matriz"}, ["matriz"]),
        ({"name": "SUCURSAL NORTE"}, ["norte"]),
        ({"name": "Sucursal"}, []),  # exact, not contains
        ({"city": "lima"}, ["matriz", "sur"]),
        ({"city": "Trujillo"}, ["norte"]),
        ({"state": "0"}, ["matriz", "sur"]),
        ({"state": "1"}, ["norte"]),
        ({"city": "lima", "state": "1"}, []),
        ({"clientid": "3", "name": "casa matriz"}, ["matriz"]),  # unknown parameter ignored
    ],
)
def test_filters_on_list_and_count(auth_client, offices, params, expected):
    expected_ids = [offices[name].pk for name in expected]
    assert item_ids(get_json(auth_client, "/v1/offices.json", params)) == expected_ids
    assert_exact(get_json(auth_client, "/v1/offices/count.json", params), {"count": len(expected)})


@pytest.mark.parametrize("value", ["7", "abc", "-1", HUGE])
@pytest.mark.parametrize("path", ["/v1/offices.json", "/v1/offices/count.json"])
def test_malformed_state_is_a_400(auth_client, path, value):
    assert_error(get(auth_client, path, {"state": value}), 400, "state")


@pytest.mark.parametrize("expand", ["[office]", "[users]"])
def test_offices_expand_nothing(auth_client, expand):
    assert_error(get(auth_client, "/v1/offices.json", {"expand": expand}), 400, "expand")


# --- Queries -------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 50])
def test_list_queries_do_not_grow_with_the_page(auth_client, django_assert_num_queries, limit):
    OfficeFactory.create_batch(60)
    # auth + 1 count + 1 page.
    with django_assert_num_queries(AUTH_QUERIES + 2):
        payload = get_json(auth_client, "/v1/offices.json", {"limit": limit})
    assert len(payload["items"]) == limit


def test_detail_and_count_queries(auth_client, django_assert_num_queries):
    office = OfficeFactory()
    # auth + the row.
    with django_assert_num_queries(AUTH_QUERIES + 1):
        get_json(auth_client, f"/v1/offices/{office.pk}.json")
    # auth + 1 count.
    with django_assert_num_queries(AUTH_QUERIES + 1):
        get_json(auth_client, "/v1/offices/count.json", {"city": "lima"})
