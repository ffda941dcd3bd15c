"""Who may see what a request shows: the resource's own view permissions and those of
every resource an ``expand`` path reaches. A relation that is not expanded shows only its
``href`` and ``id``, a column of the object's own table, so it needs nothing more."""

from __future__ import annotations

from collections.abc import Iterator

from common.bsale.parameters import ExpandTree
from common.bsale.resources import Resource
from common.permissions import require_perms


def needed_permissions(
    resource: Resource, tree: ExpandTree, path: str = ""
) -> Iterator[tuple[str, str]]:
    """(what, permission), e.g. ("expand=user.office", "offices.view_office"), for the
    resource (at the root) and every expanded relation."""
    if not path:
        for perm in resource.permissions:
            yield f"Showing {resource.name.replace('_', ' ')}", perm
    for relation in resource.relations:
        if relation.key not in tree:
            continue
        dotted = f"{path}.{relation.key}" if path else relation.key
        for perm in relation.resource.permissions:
            yield f"expand={dotted}", perm
        yield from needed_permissions(relation.resource, tree[relation.key], dotted)


def check_permissions(user, permissions: tuple[tuple[str, str], ...]) -> None:
    """A 403 naming the first part the user may not see and its missing permissions."""
    if not permissions or (user.is_active and user.is_superuser):
        return
    by_part: dict[str, list[str]] = {}
    for what, perm in permissions:
        by_part.setdefault(what, []).append(perm)
    for what, perms in by_part.items():
        extra = {"expand": [what.removeprefix("expand=")]} if what.startswith("expand=") else {}
        require_perms(user, perms, what=what, errors=extra)
