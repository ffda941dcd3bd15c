"""``common.querysets.built_once``: a selector's queryset built once, copied per call."""

import pytest

from tests.factories import UserFactory
from users.selectors import user_list


@pytest.mark.django_db
def test_every_call_gets_a_fresh_queryset_with_the_same_query():
    first, second = user_list(), user_list()
    assert first is not second
    assert str(first.query) == str(second.query)
    assert first.query.order_by == ("id",)


@pytest.mark.django_db
def test_results_are_never_shared_between_calls():
    one = UserFactory(office=None)
    seen = list(user_list())  # evaluated: this copy holds its results
    two = UserFactory(office=None)
    assert [u.pk for u in seen] == [one.pk]
    assert [u.pk for u in user_list()] == [one.pk, two.pk]
    assert [u.pk for u in user_list().filter(pk=two.pk)] == [two.pk]
