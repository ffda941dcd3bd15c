"""Leancore methods and the token endpoints.

- ``POST /update-user-sales-history``: merge or replace a user's sales history.
- ``GET /user?id=<uuid>`` (or ``?nit=``, ``?phone=``): the Leancore user object.
- ``POST /oauth2/token``: OAuth2 client credentials grant (RFC 6749 section 4.4).
- ``POST /api/token/``, ``/api/token/refresh/``, ``/api/token/verify/``: simplejwt.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from django.contrib.auth import authenticate, get_user_model
from django.http import JsonResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import exceptions, serializers
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.tokens import AccessToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView, TokenVerifyView

from common.errors import NotFound
from common.openapi import ERROR_REF
from common.parsers import JSONParser
from common.views import ReleasesResponseMixin
from sales.services import MAX_HISTORY_ENTRIES
from users.leancore_serializers import (
    LEANCORE_USER_KEYS,
    history_update_from_payload,
    leancore_update_from_body,
    leancore_user_lookup,
    leancore_user_payload,
)

__all__ = ["history_update_from_payload", "leancore_user_payload", "urlpatterns"]

HISTORY_PERMISSION = "users.change_sales_history"
VIEW_USER_PERMISSION = "users.view_user"

# --- OpenAPI --------------------------------------------------------------------------------

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


class UpdateUserSalesHistoryView(ReleasesResponseMixin, APIView):
    """Leancore ``update-user-sales-history``: body ``{"user_id", "history"?, "replace"?}``.

    Merge by default (an existing (nit, fecha, emc) gets the new monto, nothing is
    removed); ``"replace": true`` makes the history exactly the list sent. All or
    nothing; answers the full Leancore user object.
    """

    required_perms = (HISTORY_PERMISSION,)

    @extend_schema(
        operation_id="leancore_update_user_sales_history",
        request={"application/json": UPDATE_REQUEST_SCHEMA},
        responses={
            200: OpenApiResponse(LEANCORE_USER_SCHEMA, description="The full Leancore user."),
            400: OpenApiResponse(ERROR_REF, description="Invalid body; errors name the field."),
            404: OpenApiResponse(ERROR_REF, description="No user with this user_id."),
        },
        tags=["leancore"],
    )
    def post(self, request):
        return Response(leancore_update_from_body(body=request.data, actor=request.user))


class LeancoreUserView(ReleasesResponseMixin, APIView):
    """Leancore's read method: one user by ``id`` (uuid), ``nit`` or ``phone``.

    Needs ``users.view_user``, except for a user reading their own profile.
    """

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="leancore_user",
        parameters=[
            OpenApiParameter("id", OpenApiTypes.UUID, description="The user's uuid."),
            OpenApiParameter("nit", OpenApiTypes.STR),
            OpenApiParameter("phone", OpenApiTypes.STR),
        ],
        responses={
            200: OpenApiResponse(LEANCORE_USER_SCHEMA, description="The full Leancore user."),
            400: OpenApiResponse(ERROR_REF, description="No parameter, or a malformed one."),
            404: OpenApiResponse(ERROR_REF, description="Nobody matches."),
            409: OpenApiResponse(ERROR_REF, description="Several users match; query by id."),
        },
        tags=["leancore"],
    )
    def get(self, request):
        params = request.query_params
        user = request.user
        only_pk = None if user.has_perm(VIEW_USER_PERMISSION) else user.pk
        try:
            payload = leancore_user_lookup(
                id=params.get("id"),
                nit=params.get("nit"),
                phone=params.get("phone"),
                only_pk=only_pk,
            )
        except NotFound:
            if only_pk is not None:
                # Without view_user, whether somebody else matches is none of the caller's business.
                raise exceptions.PermissionDenied(
                    "You may only read your own profile without the users.view_user permission."
                ) from None
            raise
        return Response(payload)


# --- OAuth2 client credentials ----------------------------------------------------------


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    """RFC 6749 section 5.2 error response."""
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if error == "invalid_client":
        status = 401
        headers["WWW-Authenticate"] = 'Basic realm="api"'
    return Response({"error": error, "error_description": description}, status, headers=headers)


class _InvalidClient(Exception):
    pass


def _basic_credentials(request) -> tuple[str, str] | None:
    """``Authorization: Basic base64(client_id:client_secret)``, or None when not sent."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, param = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(param.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise _InvalidClient("Malformed HTTP Basic credentials.") from None
    client_id, colon, client_secret = decoded.partition(":")
    if not colon:
        raise _InvalidClient("Malformed HTTP Basic credentials (client_id:client_secret).")
    return client_id, client_secret


class OAuth2TokenView(ReleasesResponseMixin, APIView):
    """``POST /oauth2/token`` with ``grant_type=client_credentials``.

    The client authenticates with HTTP Basic (``client_id:client_secret``, RFC 6749
    section 2.3.1) or with ``client_id``/``client_secret`` in the form body. An API
    client is an active account made by ``manage.py create_api_client``; its access
    token is a regular JWT, valid wherever ``Authorization: Bearer`` is.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser]

    @staticmethod
    def nul_refusal(errors) -> JsonResponse:
        """common.middleware.RejectNulMiddleware's 400, in RFC 6749's error shape."""
        response = JsonResponse(
            {
                "error": "invalid_request",
                "error_description": "The request contains a NUL character (%00), "
                "which is not accepted.",
            },
            status=400,
        )
        response["Cache-Control"], response["Pragma"] = "no-store", "no-cache"
        return response

    @extend_schema(
        operation_id="oauth2_token",
        request={
            "application/x-www-form-urlencoded": inline_serializer(
                "OAuth2TokenRequest",
                {
                    "grant_type": serializers.ChoiceField(choices=["client_credentials"]),
                    "client_id": serializers.CharField(required=False),
                    "client_secret": serializers.CharField(required=False),
                },
            )
        },
        responses={
            200: inline_serializer(
                "OAuth2TokenResponse",
                {
                    "access_token": serializers.CharField(),
                    "token_type": serializers.CharField(),
                    "expires_in": serializers.IntegerField(),
                },
            ),
            400: OpenApiResponse(
                OAUTH_ERROR_SCHEMA, description="invalid_request or unsupported_grant_type."
            ),
            401: OpenApiResponse(
                OAUTH_ERROR_SCHEMA, description="invalid_client: unknown client or wrong secret."
            ),
        },
        auth=[],
        tags=["leancore"],
    )
    def post(self, request):
        try:
            data = request.data
        except (exceptions.ParseError, exceptions.UnsupportedMediaType):
            return _oauth_error(
                "invalid_request", "The body must be application/x-www-form-urlencoded."
            )
        grant_type = data.get("grant_type")
        if not grant_type:
            return _oauth_error("invalid_request", "The grant_type parameter is required.")
        if grant_type != "client_credentials":
            return _oauth_error(
                "unsupported_grant_type", "Only grant_type=client_credentials is supported."
            )

        try:
            basic = _basic_credentials(request)
        except _InvalidClient as exc:
            return _oauth_error("invalid_client", str(exc))
        in_body = "client_id" in data or "client_secret" in data
        if basic and in_body:
            return _oauth_error(
                "invalid_request", "Send the client credentials once: HTTP Basic or the body."
            )
        if basic:
            client_id, client_secret = basic
            # RFC 6749 2.3.1: both are form-urlencoded before Basic encoding. Clients that
            # skip it still work: the raw values are tried first.
            candidates = [(client_id, client_secret)]
            decoded = (unquote_plus(client_id), unquote_plus(client_secret))
            if decoded != candidates[0]:
                candidates.append(decoded)
        elif in_body:
            candidates = [(data.get("client_id", ""), data.get("client_secret", ""))]
        else:
            return _oauth_error("invalid_client", "Client authentication is required.")

        user = None
        for client_id, client_secret in candidates:
            if client_id and client_secret:
                user = authenticate(request._request, username=client_id, password=client_secret)
            if user is not None:
                break
        if user is None or not user.is_active:
            return _oauth_error("invalid_client", "Unknown client or wrong client secret.")

        token = AccessToken.for_user(user)
        return Response(
            {
                "access_token": str(token),
                "token_type": "Bearer",
                "expires_in": int(token["exp"]) - int(token["iat"]),
            },
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )


# --- simplejwt ----------------------------------------------------------------------------


class SafeTokenRefreshSerializer(TokenRefreshSerializer):
    """simplejwt's refresh, but a refresh token of a deleted user is a 401, not a 500."""

    def validate(self, attrs):
        try:
            return super().validate(attrs)
        except get_user_model().DoesNotExist:
            raise exceptions.AuthenticationFailed(
                self.error_messages["no_active_account"], "no_active_account"
            ) from None


_TOKEN_PARSERS = [JSONParser, FormParser]

urlpatterns = [
    # Leancore's paths, exactly as its clients call them (no trailing slash).
    path(
        "update-user-sales-history",
        UpdateUserSalesHistoryView.as_view(),
        name="leancore-update-user-sales-history",
    ),
    path("user", LeancoreUserView.as_view(), name="leancore-user"),
    path("oauth2/token", OAuth2TokenView.as_view(), name="oauth2-token"),
    path(
        "api/token/",
        TokenObtainPairView.as_view(parser_classes=_TOKEN_PARSERS),
        name="token_obtain_pair",
    ),
    path(
        "api/token/refresh/",
        TokenRefreshView.as_view(
            parser_classes=_TOKEN_PARSERS, serializer_class=SafeTokenRefreshSerializer
        ),
        name="token_refresh",
    ),
    path(
        "api/token/verify/",
        TokenVerifyView.as_view(parser_classes=_TOKEN_PARSERS),
        name="token_verify",
    ),
]
