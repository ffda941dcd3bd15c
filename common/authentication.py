"""JWT authentication that also takes Bsale's ``access_token`` header."""

from rest_framework_simplejwt.authentication import JWTAuthentication

# Bsale clients send ``access_token: <token>``. WSGI servers expose it as HTTP_ACCESS_TOKEN
# only when configured to (see config/gunicorn.py: underscores in header names).
ACCESS_TOKEN_META = "HTTP_ACCESS_TOKEN"


class BsaleJWTAuthentication(JWTAuthentication):
    """``Authorization: Bearer <jwt>`` or ``access_token: <jwt>``; the same checks for both."""

    def authenticate(self, request):
        if request.META.get("HTTP_AUTHORIZATION"):
            return super().authenticate(request)
        raw_token = request.META.get(ACCESS_TOKEN_META, "").strip()
        if not raw_token:
            return None
        if raw_token.lower().startswith("bearer "):  # tolerate clients that copy the prefix
            raw_token = raw_token[7:].strip()
        validated_token = self.get_validated_token(raw_token.encode())
        return self.get_user(validated_token), validated_token
