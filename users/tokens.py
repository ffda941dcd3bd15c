"""The JWT endpoints (simplejwt): ``POST /api/token/``, ``/api/token/refresh/``, ``/verify/``.

Refresh and verify run the same user checks as every API request (common.tokens): a token
whose user is gone, inactive or has changed password is a 401 at every door.
"""

from __future__ import annotations

from rest_framework.parsers import FormParser
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView, TokenVerifyView

from common.parsers import JSONParser
from common.tokens import CheckedTokenRefreshSerializer, CheckedTokenVerifySerializer

_TOKEN_PARSERS = [JSONParser, FormParser]

token_obtain_pair = TokenObtainPairView.as_view(parser_classes=_TOKEN_PARSERS)
token_refresh = TokenRefreshView.as_view(
    parser_classes=_TOKEN_PARSERS, serializer_class=CheckedTokenRefreshSerializer
)
token_verify = TokenVerifyView.as_view(
    parser_classes=_TOKEN_PARSERS, serializer_class=CheckedTokenVerifySerializer
)
