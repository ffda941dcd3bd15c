"""The Leancore user object and the history update, shared by every endpoint that needs them.

``POST /update-user-sales-history``, ``GET /user`` and the users viewset's ``history``
action (``POST /v1/users/{id}/history.json``) all answer with ``leancore_user_payload``;
the two writers go through ``history_update_from_payload``. Plain dicts from
``values()``: two queries whatever the size of the history, no serializer per row.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from django.db import connections, router
from django.db.models import Q
from django.utils import timezone

from common.errors import InvalidInput, NotFound, invalid_message
from sales import history_sql
from sales.models import SalesHistoryEntry
from sales.services import parse_history, parse_user_uuid, safe_name, sales_history_update
from users.models import AuditEntry, User

# Leancore key -> User field, in the order of Leancore's documentation.
LEANCORE_USER_FIELDS = {
    "image": "image",
    "name": "first_name",
    "lastname": "last_name",
    "business_name": "business_name",
    "quota": "quota",
    "status": "status",
    "phone": "phone",
    "email": "email",
    "nit": "nit",
    "address": "address",
    "score": "score",
    "payment_data": "payment_data",
    "apn_token": "apn_token",
    "ecosystem": "ecosystem",
    "business_entity": "business_entity",
    "additional_data": "additional_data",
}
_VALUES = ("pk", "uuid", *LEANCORE_USER_FIELDS.values())
# The keys of the Leancore user object, in its documented order.
LEANCORE_USER_KEYS = (
    "id", "image", "name", "lastname", "business_name", "quota", "status", "phone", "email",
    "nit", "address", "history", "score", "payment_data", "apn_token", "ecosystem",
    "business_entity", "additional_data",
)  # fmt: skip
HISTORY_PAYLOAD_KEYS = frozenset({"history", "replace"})


class Conflict(InvalidInput):
    status_code = 409


def _raise_first(errors: dict[str, list[str]], exc_class=InvalidInput) -> None:
    """One error sentence naming the first field at fault, with every field in ``errors``."""
    if errors:
        raise exc_class(invalid_message(errors), errors)


def leancore_history(user_pk: int) -> list[dict[str, Any]]:
    """The user's history as Leancore shows it, sorted by fecha, then nit, then emc.

    Sorted in Python after one query, so the order of ties does not depend on the
    database's collation. ``monto`` stays a Decimal (the renderer writes an exact JSON
    number); ``fecha`` is ISO 8601 in the configured time zone.
    """
    rows = SalesHistoryEntry.objects.filter(user_id=user_pk).values_list(
        "date", "nit", "emc", "amount"
    )
    rows = sorted(rows, key=lambda row: (row[0], row[1], row[2]))
    local_tz = timezone.get_default_timezone()
    return [
        {
            "nit": nit,
            "monto": amount,
            "fecha": timezone.localtime(when, local_tz).isoformat(),
            "emc": emc,
        }
        for when, nit, emc, amount in rows
    ]


_HISTORY_JSON_SQL: dict[str, str] = {}


def leancore_history_json(user_pk: int) -> orjson.Fragment | list[dict[str, Any]]:
    """``leancore_history`` ready to render: JSON text that PostgreSQL writes (one value
    instead of a row per entry), or the list itself on other databases."""
    connection = connections[router.db_for_read(SalesHistoryEntry)]
    if connection.vendor != "postgresql":
        return leancore_history(user_pk)
    sql = _HISTORY_JSON_SQL.get(connection.alias)
    if sql is None:
        sql = _HISTORY_JSON_SQL[connection.alias] = history_sql.history_json_sql(connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"tz": timezone.get_default_timezone_name(), "user": user_pk})
        (text,) = cursor.fetchone()
    return orjson.Fragment(text)


def _payload_from_row(row: dict[str, Any], *, rendered: bool = False) -> dict[str, Any]:
    return {
        "id": str(row["uuid"]),
        "image": row["image"],
        "name": row["first_name"],
        "lastname": row["last_name"],
        "business_name": row["business_name"],
        "quota": row["quota"],  # Decimal: an exact JSON number through the renderer
        "status": row["status"],
        "phone": row["phone"],
        "email": row["email"],
        "nit": row["nit"],
        "address": row["address"],
        "history": leancore_history_json(row["pk"]) if rendered else leancore_history(row["pk"]),
        "score": row["score"],
        "payment_data": row["payment_data"] or {},
        "apn_token": row["apn_token"],
        "ecosystem": row["ecosystem"],
        "business_entity": row["business_entity"],
        "additional_data": row["additional_data"] or {},
    }


def leancore_user_payload(user: User | int, *, rendered: bool = False) -> dict[str, Any]:
    """The full Leancore user object (SPEC section 4) for a user or a user's pk. Two queries.

    ``rendered``: for a response, the history as JSON text (``leancore_history_json``).
    """
    pk = user if isinstance(user, int) else user.pk
    row = User.objects.filter(pk=pk).values(*_VALUES).first()
    if row is None:
        raise NotFound("User not found.")
    return _payload_from_row(row, rendered=rendered)


def leancore_user_lookup(
    *, id: Any = None, nit: Any = None, phone: Any = None, only_pk=None, rendered: bool = False
):
    """``GET /user``: the one user matching every given parameter, as a Leancore payload.

    400 when no parameter or a malformed one; 404 when nobody matches; 409 when ``nit``
    or ``phone`` match more than one user (query by ``id`` then). ``only_pk`` restricts
    the search to that user (a caller allowed to read only their own profile).
    """
    errors: dict[str, list[str]] = {}
    query = Q()
    if id is not None:
        try:
            query &= Q(uuid=parse_user_uuid(id))
        except ValueError as exc:
            errors["id"] = [str(exc)]
    for name, value in (("nit", nit), ("phone", phone)):
        if value is None:
            continue
        text = value.strip()
        if not text:
            errors[name] = ["must not be empty"]
        elif "\x00" in text:
            errors[name] = ["must not contain NUL characters"]
        elif name == "phone" and value.startswith(" "):
            # "?phone=+573..." without %2B arrives as " 573...": the "+" became a space.
            query &= Q(phone=text) | Q(phone=f"+{text}")
        else:
            query &= Q(**{name: text})
    _raise_first(errors)
    if not query:
        raise InvalidInput(
            "Give one of the query parameters id, nit or phone.",
            {"id": ["give id, nit or phone"]},
        )
    users = User.objects.filter(query)
    if only_pk is not None:
        users = users.filter(pk=only_pk)
    rows = list(users.order_by("pk").values(*_VALUES)[:2])
    if not rows:
        raise NotFound("No user matches.")
    if len(rows) > 1:
        given = [name for name, value in (("nit", nit), ("phone", phone)) if value is not None]
        raise Conflict(
            "More than one user matches; query by id.",
            {name: ["matches more than one user"] for name in given},
        )
    return _payload_from_row(rows[0], rendered=rendered)


def parse_history_payload(payload: Any, *, allowed: frozenset[str] = HISTORY_PAYLOAD_KEYS):
    """The body of a history update minus ``user_id``: ``(entries or None, replace)``.

    ``entries`` is None when ``history`` is absent (nothing to change).
    """
    if not isinstance(payload, dict):
        raise InvalidInput("The body must be a JSON object.")
    errors: dict[str, list[str]] = {}
    for key in payload:
        if key not in allowed:
            errors[safe_name(key)] = ["unknown field"]
    replace = payload.get("replace", False)
    if not isinstance(replace, bool):
        errors["replace"] = ["must be true or false"]
    _raise_first(errors)
    if "history" not in payload:
        return None, replace
    return parse_history(payload["history"]), replace


def history_update_from_payload(
    *,
    user: User,
    payload: Any,
    actor: User | None,
    source: AuditEntry.Source | str = AuditEntry.Source.API,
    rendered: bool = False,
) -> dict[str, Any]:
    """Validate a history update body (``{"history": [...], "replace": false}``, no
    ``user_id``), write it all or nothing, and return the Leancore user object.

    Raises ``InvalidInput`` (400) naming the field, e.g. ``history[3].monto``.
    """
    entries, replace = parse_history_payload(payload)
    if entries is not None:
        sales_history_update(
            user=user, entries=entries, replace=replace, actor=actor, source=source
        )
    return leancore_user_payload(user, rendered=rendered)


def leancore_update_from_body(
    *, body: Any, actor: User | None, rendered: bool = False
) -> dict[str, Any]:
    """``POST /update-user-sales-history``: the whole body, ``user_id`` included."""
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.")
    if "user_id" not in body:
        errors = {"user_id": ["this field is required"]}
    else:
        try:
            user_uuid: uuid.UUID = parse_user_uuid(body["user_id"])
            errors = {}
        except ValueError as exc:
            errors = {"user_id": [str(exc)]}
    rest = {key: value for key, value in body.items() if key != "user_id"}
    try:
        parse_history_payload({k: v for k, v in rest.items() if k != "history"})
    except InvalidInput as exc:
        errors.update(exc.errors)
    _raise_first(errors)
    user = User.objects.filter(uuid=user_uuid).only("pk", "username").first()
    if user is None:
        raise NotFound(f"No user with id {user_uuid}.", {"user_id": ["no such user"]})
    return history_update_from_payload(user=user, payload=rest, actor=actor, rendered=rendered)
