"""The Bsale representation of a user (the seed's shape, exactly)."""

from common.bsale.resources import STATE, Attr, Relation, Resource


def _state(is_active: bool) -> int:
    return 0 if is_active else 1


USER_RESOURCE = Resource(
    name="users",
    permissions=("users.view_user",),
    attributes=[
        Attr("firstName", "first_name"),
        Attr("lastName", "last_name"),
        Attr("email", "email"),
        Attr("state", "is_active", _state, schema=STATE),
    ],
    relations=[Relation("office", "office", "offices")],
)
