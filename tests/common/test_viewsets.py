"""``BsaleViewSet.base_queryset``: the selector's queryset built once, copied per call."""

import pytest

from offices.views import OfficeViewSet
from tests.factories import UserFactory
from users.views import UserViewSet


@pytest.mark.django_db
def test_every_call_gets_a_fresh_queryset_with_the_same_query():
    view = UserViewSet()
    first, second = view.base_queryset(), UserViewSet().base_queryset()
    assert first is not second
    assert str(first.query) == str(second.query)
    assert first.query.order_by == ("id",)


def test_built_once_per_viewset_class():
    UserViewSet().base_queryset()
    OfficeViewSet().base_queryset()
    users = UserViewSet.__dict__["_built_queryset"]
    assert UserViewSet().base_queryset() is not users
    assert UserViewSet.__dict__["_built_queryset"] is users  # not built again
    assert OfficeViewSet.__dict__["_built_queryset"].model is not users.model


@pytest.mark.django_db
def test_results_are_never_shared_between_calls():
    one = UserFactory(office=None)
    seen = list(UserViewSet().base_queryset())  # evaluated: this copy holds its results
    two = UserFactory(office=None)
    assert [u.pk for u in seen] == [one.pk]
    assert [u.pk for u in UserViewSet().base_queryset()] == [one.pk, two.pk]
    assert [u.pk for u in UserViewSet().base_queryset().filter(pk=two.pk)] == [two.pk]
