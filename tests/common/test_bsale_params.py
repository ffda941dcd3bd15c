"""The Bsale conventions shared by every /v1/ list: suffix, envelope, paging, fields, expand."""

import pytest

from offices.models import Office
from sales.models import Document, DocumentType
from tests.api_helpers import (
    BASE,
    assert_error,
    assert_exact,
    follow,
    get,
    get_json,
    item_ids,
    office_json,
    query_of,
    ref,
    url,
)
from tests.factories import DocumentFactory, DocumentTypeFactory, OfficeFactory, UserFactory
from users.models import User

HUGE = "99999999999999999999999"


def _users(n):
    UserFactory.create_batch(n, office=None)


def _offices(n):
    OfficeFactory.create_batch(n)


def _document_types(n):
    DocumentTypeFactory.create_batch(n)


def _documents(n):
    DocumentFactory.create_batch(n, document_type=DocumentTypeFactory(), office=None, user=None)


# resource path -> (model, how to add n rows)
RESOURCES = {
    "users": (User, _users),
    "offices": (Office, _offices),
    "document_types": (DocumentType, _document_types),
    "documents": (Document, _documents),
}
every_resource = pytest.mark.parametrize("resource", list(RESOURCES))


def populate(resource: str, n: int) -> list[int]:
    """Add ``n`` rows; return every id the list should show, in id order."""
    model, make = RESOURCES[resource]
    make(n)
    return list(model.objects.order_by("pk").values_list("pk", flat=True))


# --- The .json suffix ----------------------------------------------------------------------


@every_resource
@pytest.mark.parametrize("suffix", [".json", "", "/"])
def test_list_detail_and_count_answer_with_or_without_json_suffix(auth_client, resource, suffix):
    ids = populate(resource, 3)
    listing = get_json(auth_client, f"/v1/{resource}{suffix}")
    assert listing["href"] == url(f"/v1/{resource}.json")  # always the canonical form
    assert item_ids(listing) == ids
    detail = get_json(auth_client, f"/v1/{resource}/{ids[0]}{suffix}")
    assert detail["href"] == url(f"/v1/{resource}/{ids[0]}.json")
    assert detail == listing["items"][0]
    assert_exact(get_json(auth_client, f"/v1/{resource}/count{suffix}"), {"count": len(ids)})


@every_resource
def test_missing_detail_is_a_json_404(auth_client, resource):
    ids = populate(resource, 1)
    for missing in (ids[-1] + 1000, HUGE):
        assert_error(get(auth_client, f"/v1/{resource}/{missing}.json"), 404)


# --- Paging ----------------------------------------------------------------------------------


@every_resource
def test_default_page_is_25_with_a_next_link(auth_client, resource):
    ids = populate(resource, 30)
    payload = get_json(auth_client, f"/v1/{resource}.json")
    assert list(payload) == ["href", "count", "limit", "offset", "items", "next"]
    assert (payload["count"], payload["limit"], payload["offset"]) == (len(ids), 25, 0)
    assert item_ids(payload) == ids[:25]
    assert payload["next"] == url(f"/v1/{resource}.json?limit=25&offset=25")


@pytest.mark.parametrize("limit", ["51", "100", HUGE])
def test_a_limit_above_50_is_served_as_50(auth_client, limit):
    ids = populate("users", 60)
    payload = get_json(auth_client, "/v1/users.json", {"limit": limit})
    assert payload["limit"] == 50
    assert item_ids(payload) == ids[:50]
    assert query_of(payload["next"]) == {"limit": "50", "offset": "50"}


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("limit", "abc"),
        ("limit", "-1"),
        ("limit", "1.5"),
        ("offset", "-1"),
        ("offset", "abc"),
        ("offset", "2.0"),
        ("offset", HUGE),  # past any table, and beyond what JSON could echo as an integer
    ],
)
def test_malformed_paging_is_a_400_naming_the_parameter(auth_client, param, value):
    assert_error(get(auth_client, "/v1/users.json", {param: value}), 400, param)


@every_resource
def test_walking_next_visits_every_id_once_in_order(auth_client, resource):
    ids = populate(resource, 12)
    seen, pages = [], 0
    payload = get_json(auth_client, f"/v1/{resource}.json", {"limit": 5})
    while True:
        pages += 1
        assert payload["count"] == len(ids)
        assert payload["limit"] == 5
        seen += item_ids(payload)
        if "next" not in payload:
            break
        payload = follow(auth_client, payload["next"])
    assert seen == ids
    assert pages == -(-len(ids) // 5)
    assert payload["items"]  # the last page is the one with the last items, no further next


def test_walking_a_filtered_list_visits_every_match_once_in_order(auth_client):
    """Matches scattered among non-matches: paging must neither repeat nor skip one."""
    doc_type = DocumentTypeFactory()
    states = [1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 0]
    for state in states:
        DocumentFactory(document_type=doc_type, office=None, user=None, state=state)
    expected = list(Document.objects.filter(state=0).order_by("pk").values_list("pk", flat=True))
    payload = get_json(auth_client, "/v1/documents.json", {"state": 0, "limit": 3})
    seen = item_ids(payload)
    while "next" in payload:
        assert query_of(payload["next"])["state"] == "0"
        payload = follow(auth_client, payload["next"])
        assert payload["count"] == len(expected)
        seen += item_ids(payload)
    assert seen == expected


def test_no_next_when_the_page_ends_exactly_at_the_last_item(auth_client):
    ids = populate("offices", 4)
    payload = get_json(auth_client, "/v1/offices.json", {"limit": 2, "offset": 2})
    assert item_ids(payload) == ids[2:]
    assert "next" not in payload


@pytest.mark.parametrize("offset", ["3", "10", str(2**63 - 1)])
def test_an_offset_past_the_end_gives_no_items_and_the_true_count(auth_client, offset):
    populate("offices", 3)
    payload = get_json(auth_client, "/v1/offices.json", {"offset": offset})
    assert_exact(
        payload,
        {
            "href": url("/v1/offices.json"),
            "count": 3,
            "limit": 25,
            "offset": int(offset),
            "items": [],
        },
    )


def test_next_keeps_filters_fields_and_expand_and_href_keeps_only_filters(auth_client):
    office = OfficeFactory()
    UserFactory.create_batch(3, office=office)
    params = {"officeid": office.pk, "fields": "[firstname]", "expand": "[office]", "limit": 2}
    payload = get_json(auth_client, "/v1/users.json", params)
    others = {"officeid": str(office.pk), "fields": "[firstname]", "expand": "[office]"}
    assert query_of(payload["href"]) == others
    assert payload["href"].startswith(f"{BASE}/v1/users.json?")
    assert query_of(payload["next"]) == {**others, "limit": "2", "offset": "2"}
    last = follow(auth_client, payload["next"])
    assert [list(item) for item in last["items"]] == [["href", "id", "firstName", "office"]]
    assert last["items"][0]["office"] == office_json(office)
    assert "next" not in last


def test_unknown_parameters_are_ignored(auth_client):
    populate("users", 2)
    plain = get_json(auth_client, "/v1/users.json")
    with_unknown = get_json(auth_client, "/v1/users.json", {"clientid": 3, "foo": "[x]"})
    assert with_unknown["items"] == plain["items"]
    assert with_unknown["count"] == plain["count"]
    assert_exact(get_json(auth_client, "/v1/users/count.json", {"clientid": 3}), {"count": 3})


# --- fields ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        "[firstname,lastname]",
        "firstname,lastname",
        "[FirstName, LASTNAME]",
        "[lastname,firstname,href,id]",
    ],
)
def test_fields_keeps_only_those_attributes_plus_href_and_id(auth_client, reader, fields):
    reader.first_name, reader.last_name = "Alejandro", "Herrera"
    reader.save()
    payload = get_json(auth_client, "/v1/users.json", {"fields": fields})
    expected = {
        "href": url(f"/v1/users/{reader.pk}.json"),
        "id": reader.pk,
        "firstName": "Alejandro",
        "lastName": "Herrera",
    }
    assert_exact(payload["items"], [expected])
    detail = get_json(auth_client, f"/v1/users/{reader.pk}.json", {"fields": fields})
    assert_exact(detail, expected)


def test_fields_can_name_a_relation(auth_client):
    office = OfficeFactory()
    user = UserFactory(office=office)
    detail = get_json(auth_client, f"/v1/users/{user.pk}.json", {"fields": "[office]"})
    assert_exact(
        detail,
        {
            "href": url(f"/v1/users/{user.pk}.json"),
            "id": user.pk,
            "office": ref("offices", office.pk),
        },
    )


@pytest.mark.parametrize("path", ["/v1/users.json", "/v1/users/{pk}.json"])
def test_an_unknown_field_is_a_400_naming_it(auth_client, reader, path):
    response = get(auth_client, path.format(pk=reader.pk), {"fields": "[firstname,nickname]"})
    body = assert_error(response, 400, "fields")
    assert "nickname" in body["error"]
    assert any("nickname" in message for message in body["errors"]["fields"])


# --- expand ----------------------------------------------------------------------------------


@pytest.mark.parametrize("expand", ["[office]", "office", "[OFFICE]", "[ office ]"])
def test_expand_office_gives_the_full_office(auth_client, expand):
    office = OfficeFactory()
    user = UserFactory(office=office)
    detail = get_json(auth_client, f"/v1/users/{user.pk}.json", {"expand": expand})
    assert_exact(detail["office"], office_json(office))
    listing = get_json(auth_client, "/v1/users.json", {"expand": expand})
    by_id = {item["id"]: item for item in listing["items"]}
    assert_exact(by_id[user.pk]["office"], office_json(office))


def test_fields_and_expand_together(auth_client):
    office = OfficeFactory()
    user = UserFactory(office=office, first_name="Ana")
    detail = get_json(
        auth_client, f"/v1/users/{user.pk}.json", {"fields": "[firstname]", "expand": "[office]"}
    )
    assert_exact(
        detail,
        {
            "href": url(f"/v1/users/{user.pk}.json"),
            "id": user.pk,
            "firstName": "Ana",
            "office": office_json(office),
        },
    )


@pytest.mark.parametrize(
    ("path", "expand"),
    [
        ("/v1/users.json", "[nothing]"),
        ("/v1/users.json", "[email]"),  # an attribute, not a relation
        ("/v1/users.json", "[office.user]"),  # offices expand nothing
        ("/v1/offices.json", "[office]"),
        ("/v1/document_types.json", "[office]"),
        ("/v1/documents.json", "[seller]"),
        ("/v1/documents.json", "[user.office.city]"),  # 3 levels, but city is no relation
        ("/v1/documents.json", "[user.office.a.b]"),  # 4 levels: too deep
        ("/v1/users/{pk}.json", "[nothing]"),
        ("/v1/documents/1.json", "[user.office.a.b]"),
    ],
)
def test_unknown_non_expandable_or_too_deep_expand_is_a_400(auth_client, reader, path, expand):
    response = get(auth_client, path.format(pk=reader.pk), {"expand": expand})
    assert_error(response, 400, "expand")
