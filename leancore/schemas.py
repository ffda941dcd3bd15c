"""OpenAPI of the Leancore methods: request and response bodies (drf-spectacular)."""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from leancore.payloads import LEANCORE_USER_KEYS
from sales.services import MAX_HISTORY_ENTRIES

_STRING = {"type": "string"}
_HISTORY_ENTRY_IN = {
    "type": "object",
    "required": ["nit", "monto", "fecha", "emc"],
    "additionalProperties": False,
    "properties": {
        "nit": {"type": "string", "minLength": 1, "maxLength": 32},
        "monto": {"type": "number", "minimum": 0, "description": "At most 2 decimals."},
        "fecha": {
            "type": "string",
            "description": "ISO 8601 date or datetime; without an offset, in the configured "
            "time zone.",
        },
        "emc": {"type": "string", "minLength": 1, "maxLength": 200},
    },
}
UPDATE_REQUEST_SCHEMA = {
    "type": "object",
    "required": ["user_id"],
    "additionalProperties": False,
    "properties": {
        "user_id": {"type": "string", "format": "uuid"},
        "history": {"type": "array", "maxItems": MAX_HISTORY_ENTRIES, "items": _HISTORY_ENTRY_IN},
        "replace": {"type": "boolean", "default": False},
    },
}
LEANCORE_USER_SCHEMA = {
    "type": "object",
    "required": list(LEANCORE_USER_KEYS),
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "image": _STRING,
        "name": _STRING,
        "lastname": _STRING,
        "business_name": _STRING,
        "quota": {"type": "number"},
        "status": _STRING,
        "phone": _STRING,
        "email": _STRING,
        "nit": _STRING,
        "address": _STRING,
        "history": {
            "type": "array",
            "description": "Sorted by fecha, then nit, then emc.",
            "items": {
                "type": "object",
                "required": ["nit", "monto", "fecha", "emc"],
                "properties": {
                    "nit": _STRING,
                    "monto": {"type": "number"},
                    "fecha": {"type": "string", "format": "date-time"},
                    "emc": _STRING,
                },
            },
        },
        "score": {"type": "number", "nullable": True},
        "payment_data": {"type": "object"},
        "apn_token": _STRING,
        "ecosystem": _STRING,
        "business_entity": _STRING,
        "additional_data": {"type": "object"},
    },
}
OAUTH_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "error_description"],
    "properties": {
        "error": {
            "type": "string",
            "enum": ["invalid_request", "invalid_client", "unsupported_grant_type"],
        },
        "error_description": _STRING,
    },
}

# ``POST /v1/users/{id}/history``: the Leancore body without ``user_id`` (the user is in the path).
HISTORY_REQUEST_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {k: v for k, v in UPDATE_REQUEST_SCHEMA["properties"].items() if k != "user_id"},
}

OAUTH_TOKEN_REQUEST = inline_serializer(
    "OAuth2TokenRequest",
    {
        "grant_type": serializers.ChoiceField(choices=["client_credentials"]),
        "client_id": serializers.CharField(required=False),
        "client_secret": serializers.CharField(required=False),
    },
)
OAUTH_TOKEN_RESPONSE = inline_serializer(
    "OAuth2TokenResponse",
    {
        "access_token": serializers.CharField(),
        "token_type": serializers.CharField(),
        "expires_in": serializers.IntegerField(),
    },
)
