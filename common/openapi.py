"""OpenAPI for the Bsale resources, derived from the same declarations that serve them:
every operation of a ``BsaleViewSet`` and one schema component per resource.
"""

from __future__ import annotations

import typing

from django_filters import filters as df
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework_simplejwt.views import TokenViewBase

from common.bsale import resources as bsale
from common.bsale.parameters import MAX_EXPAND_DEPTH
from common.filters import IntegerFilter, UnixDateFilter, UnixDateRangeFilter
from common.renderers import money_json

INTEGER = bsale.INTEGER
STRING = {"type": "string"}
NUMBER = {"type": "number"}
UNIX_DATE = {"type": "integer", "description": "Unix seconds of 00:00 UTC of the day."}
FLAG = {"type": "integer", "enum": [0, 1]}

CONVERTER_SCHEMAS = {
    bsale.date_to_unix: UNIX_DATE,
    bsale.datetime_to_unix: {"type": "integer", "description": "Unix seconds."},
    bsale.flag: FLAG,
    money_json: NUMBER,
}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "One human sentence."},
        "errors": {
            "type": "object",
            "description": "The parameter or field at fault, with its messages.",
            "additionalProperties": {"type": "array", "items": STRING},
        },
    },
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_RESPONSES = {
    400: OpenApiResponse(ERROR_REF, description="Malformed parameter or body."),
    401: OpenApiResponse(ERROR_REF, description="Missing, forged or expired token."),
    403: OpenApiResponse(ERROR_REF, description="Authenticated, but not allowed."),
    429: OpenApiResponse(ERROR_REF, description="Too many requests."),
}
NOT_FOUND = {404: OpenApiResponse(ERROR_REF, description="No such object.")}


def component_name(resource: bsale.Resource) -> str:
    return "".join(part.title() for part in resource.name.split("_"))


def ref(resource: bsale.Resource) -> dict:
    return {"$ref": f"#/components/schemas/{component_name(resource)}"}


_ANNOTATION_SCHEMAS = {int: INTEGER, float: NUMBER, str: STRING, bool: {"type": "boolean"}}


def converter_schema(convert) -> dict | None:
    """The schema a converter implies: a known one, or its return annotation (``-> int``)."""
    if convert is None:
        return None
    if convert in CONVERTER_SCHEMAS:
        return CONVERTER_SCHEMAS[convert]
    try:
        returns = typing.get_type_hints(convert).get("return")
    except Exception:  # unresolvable annotations: no inference
        return None
    return _ANNOTATION_SCHEMAS.get(returns)


def attr_schema(attr: bsale.Attr) -> dict:
    schema = dict(attr.schema or converter_schema(attr.convert) or STRING)
    if attr.nullable:
        schema["nullable"] = True
    return schema


def resource_schema(resource: bsale.Resource) -> dict:
    """The expanded object (integer id); relations either a reference or the object."""
    properties = {"href": {"type": "string", "format": "uri"}, "id": INTEGER}
    for attr in resource.attributes:
        properties[attr.key] = attr_schema(attr)
    for relation in resource.relations:
        properties[relation.key] = {
            "nullable": True,
            "description": f"A reference, or the full object with expand=[{relation.key}].",
            "oneOf": [{"$ref": "#/components/schemas/Reference"}, ref(relation.resource)],
        }
    # Not "required": ``fields`` returns only the attributes asked for.
    return {"type": "object", "required": ["href", "id"], "properties": properties}


def envelope_schema(item_schema: dict) -> dict:
    return {
        "type": "object",
        "required": ["href", "count", "limit", "offset", "items"],
        "properties": {
            "href": {"type": "string", "format": "uri"},
            "count": INTEGER,
            "limit": INTEGER,
            "offset": INTEGER,
            "items": {"type": "array", "items": item_schema},
            "next": {
                "type": "string",
                "format": "uri",
                "description": "The next page; present only if there is one.",
            },
        },
    }


def expand_paths(resource: bsale.Resource, depth: int = MAX_EXPAND_DEPTH) -> list[str]:
    if depth == 0:
        return []
    paths = []
    for relation in resource.relations:
        paths.append(relation.key)
        paths += [f"{relation.key}.{p}" for p in expand_paths(relation.resource, depth - 1)]
    return paths


def expand_permissions(resource: bsale.Resource) -> list[tuple[str, list[str]]]:
    """Each expand path with the permissions it needs (every model on the path)."""
    needed = []
    for path in expand_paths(resource):
        perms, current = [], resource
        for part in path.split("."):
            current = current.relation_by_lower[part.lower()].resource
            perms += [p for p in current.permissions if p not in perms]
        needed.append((path, perms))
    return needed


def representation_parameters(resource: bsale.Resource) -> list[OpenApiParameter]:
    keys = ", ".join(resource.keys)
    params = [
        OpenApiParameter(
            "fields",
            OpenApiTypes.STR,
            description=f"Only these attributes (plus href and id), e.g. [a,b]. One of: {keys}.",
        )
    ]
    if resource.relations:
        params.append(
            OpenApiParameter(
                "expand",
                OpenApiTypes.STR,
                description="Relations to expand, e.g. [office] or dot paths. One of: "
                + ", ".join(expand_paths(resource))
                + ". Every model on an expanded path needs its view permission ("
                + "; ".join(
                    f"{path}: {', '.join(perms)}" for path, perms in expand_permissions(resource)
                )
                + "); without it the answer is a 403 naming the relation and the missing "
                "permission. A relation that is not expanded shows only its href and id.",
            )
        )
    return params


PAGING_PARAMETERS = [
    OpenApiParameter("limit", OpenApiTypes.INT, description="Page size: default 25, at most 50."),
    OpenApiParameter("offset", OpenApiTypes.INT, description="Items to skip; default 0."),
]


def filter_parameters(filterset_class) -> list[OpenApiParameter]:
    if filterset_class is None:
        return []
    params = []
    for name, flt in filterset_class.base_filters.items():
        schema: dict
        if isinstance(flt, df.ChoiceFilter):
            schema = {"type": "integer", "enum": [int(v) for v, _ in flt.extra["choices"]]}
        elif isinstance(flt, IntegerFilter | UnixDateFilter):
            schema = INTEGER
        elif isinstance(flt, UnixDateRangeFilter):
            schema = {"type": "string", "pattern": r"^\[?-?\d+,-?\d+\]?$"}
        else:
            schema = STRING
        description = {
            UnixDateFilter: "A Unix timestamp; its UTC date is used.",
            UnixDateRangeFilter: "[start,end] Unix timestamps, inclusive, by UTC date.",
        }.get(type(flt), f"Filter on {flt.field_name or name}.")
        params.append(OpenApiParameter(name, schema, description=description))
    return params


RETRY_AFTER_HEADER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 1},
        "description": "Seconds to wait before retrying.",
    }
}


def _error_response(description: str, *, retry_after: bool = False) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}
    if retry_after:
        response["headers"] = dict(RETRY_AFTER_HEADER)
    return response


def add_common_error_responses(operation: dict) -> dict:
    """The errors any operation can answer (400 given input, 401/403 given a token, 413 given
    a body, 429 and 503 always), unless the view documents its own."""
    responses = operation.setdefault("responses", {})
    secured = any(requirement for requirement in operation.get("security", []))
    common = []
    if operation.get("parameters") or operation.get("requestBody"):
        common.append(("400", "Malformed parameter or body.", False))
    if secured:
        common.append(("401", "Missing, forged or expired token.", False))
        common.append(("403", "Authenticated, but not allowed.", False))
    if operation.get("requestBody"):
        common.append(("413", "The request body is too large.", False))
    common.append(("429", "Too many requests: the rate limit.", True))
    common.append(("503", "The database is unavailable; retry shortly.", True))
    for code, description, retry_after in common:
        responses.setdefault(code, _error_response(description, retry_after=retry_after))
        if retry_after:
            responses[code].setdefault("headers", dict(RETRY_AFTER_HEADER))
    return operation


class BsaleAutoSchema(AutoSchema):
    """Schema for ``BsaleViewSet``'s list, retrieve and count, from its resource; and the
    errors every operation can answer (``add_common_error_responses``)."""

    def _standard_action(self) -> str | None:
        action = getattr(self.view, "action", None)
        resource = getattr(self.view, "resource", None)
        return action if resource is not None and action in ("list", "retrieve", "count") else None

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        if isinstance(self.view, TokenViewBase):
            # simplejwt's obtain/refresh/verify: wrong credentials or a bad token.
            operation.setdefault("responses", {}).setdefault(
                "401", _error_response("Wrong credentials, or an invalid or expired token.")
            )
        return add_common_error_responses(operation)

    def _is_list_view(self, serializer=None) -> bool:
        # A Bsale list answers one envelope object, not an array of them.
        if self._standard_action() == "list":
            return False
        return super()._is_list_view(serializer)

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        if self._standard_action() == "list":  # keep "..._list", as before
            operation_id = operation_id.removesuffix("_retrieve") + "_list"
        return operation_id

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        action = self._standard_action()
        filterset_class = getattr(self.view, "filterset_class", None)
        if action == "list":
            params += PAGING_PARAMETERS + representation_parameters(self.view.resource)
            params += filter_parameters(filterset_class)
        elif action == "retrieve":
            params += representation_parameters(self.view.resource)
        elif action == "count":
            params += filter_parameters(filterset_class)
        return params

    def get_response_serializers(self):
        action = self._standard_action()
        if action is None:
            return super().get_response_serializers()
        resource = self.view.resource
        if action == "list":
            body = envelope_schema(ref(resource))
            return {200: OpenApiResponse(body), **ERROR_RESPONSES}
        if action == "retrieve":
            return {200: OpenApiResponse(ref(resource)), **ERROR_RESPONSES, **NOT_FOUND}
        count = {"type": "object", "required": ["count"], "properties": {"count": INTEGER}}
        return {200: OpenApiResponse(count), **ERROR_RESPONSES}

    def _get_serializer(self):
        # Bsale views build their JSON from resource declarations, not serializers.
        if getattr(self.view, "resource", None) is not None:
            return None
        return super()._get_serializer()


class BsaleJWTScheme(OpenApiAuthenticationExtension):
    """A JWT as ``Authorization: Bearer <token>`` or Bsale's ``access_token: <token>``."""

    target_class = "common.authentication.BsaleJWTAuthentication"
    name = ["jwtAuth", "accessToken"]
    priority = 1

    def get_security_requirement(self, auto_schema):
        return [{"jwtAuth": []}, {"accessToken": []}]

    def get_security_definition(self, auto_schema):
        return [
            build_bearer_security_scheme_object("HTTP_AUTHORIZATION", "Bearer", "JWT"),
            {"type": "apiKey", "in": "header", "name": "access_token"},
        ]


def date_range_parameters() -> list[OpenApiParameter]:
    return [
        OpenApiParameter(
            name,
            OpenApiTypes.INT,
            description=f"Unix timestamp (its UTC date is used), default today; {note}.",
        )
        for name, note in (("startdate", "first day"), ("enddate", "last day, inclusive"))
    ]


def add_components(result, generator, request, public):
    """Postprocessing hook: Bsale's ``.json`` paths, one component per resource, the error."""
    result["paths"] = {
        (f"{path}.json" if path.startswith("/v1/") else path): item
        for path, item in result.get("paths", {}).items()
    }
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    schemas["Reference"] = {
        "type": "object",
        "required": ["href", "id"],
        "properties": {
            "href": {"type": "string", "format": "uri"},
            "id": {"type": "string", "description": "The related object's id, as a string."},
        },
    }
    # By path, then name: the same order whatever order the apps' modules were imported in.
    for resource in sorted(bsale.RESOURCES.values(), key=lambda r: (r.path, r.name)):
        schemas.setdefault(component_name(resource), resource_schema(resource))
    return result
