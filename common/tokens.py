"""simplejwt's tokens and endpoints with the API's rules: an impossible time claim is a 401,
and refresh/verify check the user as every request does (exists, active, same password).
"""

from __future__ import annotations

from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer, TokenVerifySerializer


class _TimeClaimsChecked:
    """``check_exp`` that calls an out-of-range or non-numeric time claim invalid."""

    def check_exp(self, claim: str = "exp", current_time=None) -> None:
        try:
            super().check_exp(claim, current_time)
        except (OverflowError, OSError, ValueError, TypeError):
            # datetime.fromtimestamp() cannot hold it: no real token says so.
            raise TokenError(f"Token has an invalid '{claim}' claim.") from None


class AccessToken(_TimeClaimsChecked, tokens.AccessToken):
    pass


class RefreshToken(_TimeClaimsChecked, tokens.RefreshToken):
    access_token_class = AccessToken


class UntypedToken(_TimeClaimsChecked, tokens.UntypedToken):
    pass


def check_token_user(token) -> None:
    """401 unless the token's user exists, is active and has the password it was issued
    under (simplejwt's CHECK_REVOKE_TOKEN claim), like any authenticated request."""
    from common.authentication import BsaleJWTAuthentication  # imports DRF's settings

    BsaleJWTAuthentication().get_user(token)


class CheckedTokenRefreshSerializer(TokenRefreshSerializer):
    """A new access token only for a refresh token its user could still use."""

    token_class = RefreshToken

    def validate(self, attrs):
        check_token_user(self.token_class(attrs["refresh"]))
        return super().validate(attrs)


class CheckedTokenVerifySerializer(TokenVerifySerializer):
    """Valid means usable: signature, expiry, and an active user with the same password."""

    def validate(self, attrs):
        check_token_user(UntypedToken(attrs["token"]))
        return super().validate(attrs)
