"""``user_quota_update``: the money columns' rules, audited, a no-op when unchanged."""

from decimal import Decimal

import pytest

from common.errors import InvalidInput
from tests.factories import UserFactory
from users.models import AuditEntry
from users.services import user_quota_update


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "greater than or equal to 0"),
        ("1.005", "at most 2 decimals"),
        ("1000000000000", "at most"),
        ("NaN", "finite"),
        ("abc", "a number"),
        (True, "a number"),
    ],
)
def test_bad_quotas_are_refused_and_nothing_changes(db, value, message):
    user = UserFactory(quota=Decimal("10.00"))
    with pytest.raises(InvalidInput, match=message) as caught:
        user_quota_update(user=user, quota=value, actor=None, source=AuditEntry.Source.COMMAND)
    assert list(caught.value.errors) == ["quota"]
    user.refresh_from_db()
    assert user.quota == Decimal("10.00")
    assert not AuditEntry.objects.exists()


def test_a_change_is_stored_and_audited_once(db):
    user = UserFactory(quota=Decimal("10.00"))
    user_quota_update(
        user=user, quota=Decimal("25.5"), actor=None, source=AuditEntry.Source.COMMAND
    )
    user_quota_update(user=user, quota="25.50", actor=None, source=AuditEntry.Source.COMMAND)
    user.refresh_from_db()
    assert user.quota == Decimal("25.50")
    entry = AuditEntry.objects.get()
    assert (entry.field, entry.source, entry.before, entry.after) == (
        "quota",
        "command",
        "10.00",
        "25.50",
    )
