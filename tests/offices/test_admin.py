"""The offices admin: pages, search, no per-row queries, PROTECT on delete."""

import pytest

from offices.models import Office
from tests.admin_helpers import admin_url, count_queries, form_data
from tests.factories import DocumentFactory, OfficeFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_changelist_add_change_render(staff_client):
    office = OfficeFactory()
    for url in (
        admin_url(Office, "changelist"),
        admin_url(Office, "add"),
        admin_url(Office, "change", office.pk),
        admin_url(Office, "delete", office.pk),
    ):
        assert staff_client.get(url).status_code == 200, url


def test_add_and_change_through_the_form(staff_client):
    url = admin_url(Office, "add")
    data = form_data(staff_client.get(url), "office_form")
    data.update(name="Sucursal Arequipa", city="Arequipa", country="Perú", _save="Save")
    assert staff_client.post(url, data).status_code == 302
    office = Office.objects.get(name="Sucursal Arequipa")
    url = admin_url(Office, "change", office.pk)
    data = form_data(staff_client.get(url), "office_form")
    data.update(state="1", _save="Save")
    assert staff_client.post(url, data).status_code == 302
    office.refresh_from_db()
    assert (office.city, office.state) == ("Arequipa", 1)


def test_search(staff_client):
    wanted = OfficeFactory(name="Sucursal Medellín", city="Medellín", cost_center="CC-MED")
    OfficeFactory(name="Casa Matriz", city="Lima")
    url = admin_url(Office, "changelist")
    for term in ("Medellín", "CC-MED"):
        response = staff_client.get(url, {"q": term})
        assert [o.pk for o in response.context["cl"].result_list] == [wanted.pk], term


def test_filters(staff_client):
    inactive = OfficeFactory(state=1)
    OfficeFactory()
    response = staff_client.get(admin_url(Office, "changelist"), {"state__exact": "1"})
    assert [o.pk for o in response.context["cl"].result_list] == [inactive.pk]


def test_changelist_query_count_does_not_grow_with_rows(staff_client):
    OfficeFactory.create_batch(3)
    url = admin_url(Office, "changelist")
    staff_client.get(url)
    few = count_queries(staff_client, url)
    OfficeFactory.create_batch(27)
    # Session and user, the count, one page of offices, and one DISTINCT query per
    # country / city filter: constant.
    assert count_queries(staff_client, url) == few


@pytest.mark.parametrize("referenced_by", ["document", "user"])
def test_delete_view_refuses_a_referenced_office(staff_client, referenced_by):
    office = OfficeFactory()
    if referenced_by == "document":
        DocumentFactory(office=office, user__office=None)
    else:
        UserFactory(office=office)
    url = admin_url(Office, "delete", office.pk)
    response = staff_client.get(url)
    assert response.status_code == 200
    assert response.context["protected"]
    response = staff_client.post(url, {"post": "yes"})
    assert response.status_code == 200  # the "cannot delete" page again, not a 500
    assert response.context["protected"]
    assert Office.objects.filter(pk=office.pk).exists()


def test_bulk_delete_refuses_a_referenced_office(staff_client):
    office = OfficeFactory()
    DocumentFactory(office=office)
    free = OfficeFactory()
    response = staff_client.post(
        admin_url(Office, "changelist"),
        {"action": "delete_selected", "_selected_action": [office.pk, free.pk], "post": "yes"},
    )
    assert response.status_code == 200
    assert response.context["protected"]
    assert Office.objects.filter(pk__in=[office.pk, free.pk]).count() == 2


def test_unreferenced_office_is_deleted(staff_client):
    office = OfficeFactory()
    response = staff_client.post(
        admin_url(Office, "changelist"),
        {"action": "delete_selected", "_selected_action": [office.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Office.objects.filter(pk=office.pk).exists()
