"""The JWT endpoints (simplejwt): ``POST /api/token/``, ``/api/token/refresh/``, ``/verify/``."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import exceptions
from rest_framework.parsers import FormParser, JSONParser
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView, TokenVerifyView


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

token_obtain_pair = TokenObtainPairView.as_view(parser_classes=_TOKEN_PARSERS)
token_refresh = TokenRefreshView.as_view(
    parser_classes=_TOKEN_PARSERS, serializer_class=SafeTokenRefreshSerializer
)
token_verify = TokenVerifyView.as_view(parser_classes=_TOKEN_PARSERS)
