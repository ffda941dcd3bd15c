"""Leancore methods.

- ``POST /update-user-sales-history``: merge or replace a user's sales history.
- ``GET /user?id=<uuid>`` (or ``?nit=``, ``?phone=``): the Leancore user object.
- ``POST /oauth2/token``: OAuth2 client credentials grant (RFC 6749 section 4.4).
- ``POST /v1/users/{id}/history``: the history update for the user in the path.

The JWT endpoints (``/api/token/...``) need only users: ``users.tokens``.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from django.contrib.auth import authenticate
from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.decorators import action
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import NotFound
from common.openapi import ERROR_REF, ERROR_RESPONSES, NOT_FOUND
from common.tokens import AccessToken
from common.views import ReleasesResponseMixin
from common.viewsets import ApiViewSet
from leancore.payloads import (
    history_update_from_payload,
    leancore_update_from_body,
    leancore_user_lookup,
)
from leancore.schemas import (
    HISTORY_REQUEST_SCHEMA,
    LEANCORE_USER_SCHEMA,
    OAUTH_ERROR_SCHEMA,
    OAUTH_TOKEN_REQUEST,
    OAUTH_TOKEN_RESPONSE,
    UPDATE_REQUEST_SCHEMA,
)
from users.models import User
from users.permissions import CHANGE_SALES_HISTORY, VIEW_USER
from users.selectors import user_list


class UpdateUserSalesHistoryView(ReleasesResponseMixin, APIView):
    """Leancore ``update-user-sales-history``: body ``{"user_id", "history"?, "replace"?}``.

    Merge by default (an existing (nit, fecha, emc) gets the new monto, nothing is
    removed); ``"replace": true`` makes the history exactly the list sent. All or
    nothing; answers the full Leancore user object.
    """

    required_perms = (CHANGE_SALES_HISTORY, VIEW_USER)

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
        return Response(
            leancore_update_from_body(body=request.data, actor=request.user, rendered=True)
        )


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
        only_pk = None if user.has_perm(VIEW_USER) else user.pk
        try:
            payload = leancore_user_lookup(
                id=params.get("id"),
                nit=params.get("nit"),
                phone=params.get("phone"),
                only_pk=only_pk,
                rendered=True,
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
        request={"application/x-www-form-urlencoded": OAUTH_TOKEN_REQUEST},
        responses={
            200: OAUTH_TOKEN_RESPONSE,
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


class UserHistoryViewSet(ApiViewSet):
    """``POST /v1/users/{id}/history``: registered on the ``users`` prefix beside users' own."""

    permission_model = User
    # The write answers with the user's profile: it is a read too.
    required_perms = (CHANGE_SALES_HISTORY, VIEW_USER)

    def get_queryset(self):
        return user_list()

    @extend_schema(
        request={"application/json": HISTORY_REQUEST_SCHEMA},
        responses={
            200: OpenApiResponse(LEANCORE_USER_SCHEMA, description="The full Leancore user."),
            **ERROR_RESPONSES,
            **NOT_FOUND,
        },
    )
    @action(detail=True, methods=["post"], url_path="history")
    def history(self, request, pk=None):
        """Leancore's update-user-sales-history for this user (merge, or ``replace``)."""
        user = User.objects.filter(pk=pk).first()
        if user is None:
            raise NotFound(f"There is no user with id {pk}.")
        return Response(
            history_update_from_payload(
                user=user, payload=request.data, actor=request.user, rendered=True
            )
        )
