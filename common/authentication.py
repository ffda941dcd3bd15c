"""JWT authentication that also takes Bsale's ``access_token`` header: the token's user and
its permissions in ONE query, or one round trip to the shared cache (``common.auth_cache``).
"""

from __future__ import annotations

import functools
import time

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.base import ModelState
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from common import auth_cache
from common.bsale.fast_path import convert_row
from common.cache import bounded_put
from common.throttling import ApiRateThrottle

# Bsale's ``access_token`` header (config/gunicorn.py lets underscores through).
ACCESS_TOKEN_META = "HTTP_ACCESS_TOKEN"


class _UserQuery:
    """The SQL that loads a user with its permissions: one row per permission (``source``
    "u" own, "g" via a group), or one row of NULLs. Names are joined outside the UNION
    (inside, PostgreSQL plans longer than it runs); the ORM's converters make the instance
    equal to the ORM's."""

    def __init__(self, connection) -> None:
        from django.contrib.auth.models import Group, Permission  # apps must be ready
        from django.contrib.contenttypes.models import ContentType

        user_model = get_user_model()
        self.alias = connection.alias
        quote = connection.ops.quote_name
        meta = user_model._meta
        self.fields = list(meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        user_perms = meta.get_field("user_permissions").remote_field.through._meta
        user_groups = meta.get_field("groups").remote_field.through._meta
        group_perms = Group._meta.get_field("permissions").remote_field.through._meta
        perm, ct = Permission._meta, ContentType._meta

        def col(model_meta, name: str) -> str:
            return f"{quote(model_meta.db_table)}.{quote(model_meta.get_field(name).column)}"

        own = (
            f"SELECT 'u' AS source, {col(user_perms, 'user')} AS user_id,"
            f" {col(user_perms, 'permission')} AS permission_id"
            f" FROM {quote(user_perms.db_table)} WHERE {col(user_perms, 'user')} = %s"
        )
        via_groups = (
            f"SELECT 'g' AS source, {col(user_groups, 'user')} AS user_id,"
            f" {col(group_perms, 'permission')} AS permission_id"
            f" FROM {quote(user_groups.db_table)} INNER JOIN {quote(group_perms.db_table)}"
            f" ON {col(group_perms, 'group')} = {col(user_groups, 'group')}"
            f" WHERE {col(user_groups, 'user')} = %s"
        )
        pk = f"u.{quote(meta.pk.column)}"
        user_columns = ", ".join(f"u.{quote(f.column)}" for f in self.fields)
        self.sql = (
            f"SELECT {user_columns}, p.source, {col(ct, 'app_label')}, {col(perm, 'codename')}"
            f" FROM {quote(meta.db_table)} u"
            f" LEFT OUTER JOIN ({own} UNION ALL {via_groups}) p ON p.user_id = {pk}"
            f" LEFT OUTER JOIN {quote(perm.db_table)} ON {col(perm, 'id')} = p.permission_id"
            f" LEFT OUTER JOIN {quote(ct.db_table)} ON {col(ct, 'id')} = {col(perm, 'content_type')}"
            f" WHERE {pk} = %s"
        )
        self.converters = []
        for index, field in enumerate(self.fields):
            expression = field.get_col(meta.db_table)
            chain = connection.ops.get_db_converters(expression) + expression.get_db_converters(
                connection
            )
            if chain:
                self.converters.append((index, chain, expression))
        # By user pk: (the snapshot last built, the user first built from it).
        self._built: dict[object, tuple] = {}
        self.pk_index = self.attnames.index(meta.pk.attname)
        self.model = user_model
        self.is_active = self.attnames.index("is_active")
        self.is_superuser = self.attnames.index("is_superuser")

    def load(self, connection, pk) -> tuple | None:
        """The user's snapshot: raw column values (converted per request in ``build``: a
        snapshot is shared) and, for an active non-superuser, (own, groups') permissions."""
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [pk, pk, pk])
            rows = cursor.fetchall()
        if not rows:
            return None
        count = len(self.fields)
        values = tuple(rows[0][:count])
        converted = convert_row(list(values), self.converters, connection)
        permissions = None
        if converted[self.is_active] and not converted[self.is_superuser]:
            own, via_groups = set(), set()
            for row in rows:
                source, app_label, codename = row[count : count + 3]
                if codename is not None:
                    (own if source == "u" else via_groups).add(f"{app_label}.{codename}")
            permissions = (own, via_groups)
        return values, permissions

    def build(self, snapshot: tuple, connection):
        """A user from ``load``'s snapshot; ``has_perm`` makes no query. A copy of the first
        user built from it (docs/performance.md), with its own state, permission sets and
        converted values: no two requests share a mutable value."""
        pk = snapshot[0][self.pk_index]
        kept = self._built.get(pk)
        if kept is None or kept[0] is not snapshot:
            kept = (snapshot, self._new_user(snapshot, connection))
            bounded_put(self._built, pk, kept, auth_cache.LOCAL_ENTRIES_MAX)
        template = kept[1]
        user = self.model.__new__(self.model)  # as unpickling makes a model instance
        attributes = template.__dict__.copy()
        attributes["_state"] = state = ModelState()
        state.db, state.adding = self.alias, False
        values = convert_row(list(snapshot[0]), self.converters, connection)
        for index, _chain, _expression in self.converters:
            attributes[self.attnames[index]] = values[index]
        for name in _PERMISSION_CACHES:
            if name in attributes:
                attributes[name] = set(attributes[name])
        user.__dict__.update(attributes)
        return user

    def _new_user(self, snapshot: tuple, connection):
        values, permissions = snapshot
        values = convert_row(list(values), self.converters, connection)
        user = self.model.from_db(self.alias, self.attnames, values)
        if permissions is not None:
            # What ModelBackend computes on the first has_perm() (never for a superuser).
            own, via_groups = permissions
            user._user_perm_cache = set(own)
            user._group_perm_cache = set(via_groups)
            user._perm_cache = own | via_groups
        return user


# ModelBackend's caches of a user's permissions, filled by build().
_PERMISSION_CACHES = ("_user_perm_cache", "_group_perm_cache", "_perm_cache")
_queries: dict[tuple[str, str], _UserQuery] = {}
# simplejwt's revocation claim (MD5 of the password hash): the same few on every request.
_password_md5 = functools.lru_cache(maxsize=1024)(get_md5_hash_password)


def user_with_permissions(pk, *, rate_count=None):
    """The user with primary key ``pk`` and its permissions, or None: one query, or none
    while the shared cache holds it (which also carries ``rate_count``). The connection's
    health check runs while Redis answers."""
    # The primary, never a replica: a deactivation must count now, not after the lag.
    connection = connections[DEFAULT_DB_ALIAS]
    key = (connection.alias, connection.vendor)
    query = _queries.get(key)
    if query is None:
        query = _queries[key] = _UserQuery(connection)
    pk_field = query.model._meta.pk
    try:
        pk = pk_field.to_python(pk)
    except ValidationError:
        return None
    if isinstance(pk, int):
        # Beyond the column's range names nobody (and SQLite would overflow binding it).
        low, high = connection.ops.integer_field_range(pk_field.get_internal_type())
        if (low is not None and pk < low) or (high is not None and pk > high):
            return None
    snapshot = auth_cache.cached(
        pk,
        lambda pk: query.load(connection, pk),
        rate_count=rate_count,
        while_waiting=connection.close_if_health_check_failed,
    )
    return None if snapshot is None else query.build(snapshot, connection)


# Verified tokens by raw bytes, with their expiry (``exp`` + leeway, checked on every use):
# a token's signature and claims never change. The oldest entries go first.
VERIFIED_TOKENS_MAX = 1024
_verified_tokens: dict[bytes, tuple[object, float]] = {}


class BsaleJWTAuthentication(JWTAuthentication):
    """``Authorization: Bearer <jwt>`` or ``access_token: <jwt>``; the same checks for both."""

    def get_validated_token(self, raw_token: bytes):
        verified = _verified_tokens.get(raw_token)
        if verified is not None:
            token, expires_at = verified
            # simplejwt's check_exp, in epoch seconds: expired once exp <= now - leeway.
            if time.time() < expires_at:
                return token
            _verified_tokens.pop(raw_token, None)  # full validation gives the usual 401
        token = super().get_validated_token(raw_token)
        leeway = token.get_token_backend().get_leeway().total_seconds()
        expires_at = token.payload["exp"] + leeway
        bounded_put(_verified_tokens, raw_token, (token, expires_at), VERIFIED_TOKENS_MAX)
        return token

    def authenticate(self, request):
        raw_token = self._raw_token(request)
        if raw_token is None:
            return None
        validated_token = self.get_validated_token(raw_token)
        # With the auth cache, the rate limit's count travels in the same Redis round trip.
        rate_count = None
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        if user_id is not None and auth_cache.cache_seconds() > 0:
            rate_count = ApiRateThrottle.count_ahead(user_id)
        user = self.get_user(validated_token, rate_count=rate_count)
        if rate_count is not None and rate_count.counts is not None:
            request.rate_count = rate_count
        return user, validated_token

    def _raw_token(self, request) -> bytes | None:
        if request.META.get("HTTP_AUTHORIZATION"):
            header = self.get_header(request)
            return None if header is None else self.get_raw_token(header)
        raw_token = request.META.get(ACCESS_TOKEN_META, "").strip()
        if not raw_token:
            return None
        if raw_token.lower().startswith("bearer "):  # tolerate clients that copy the prefix
            raw_token = raw_token[7:].strip()
        return raw_token.encode()

    def get_user(self, validated_token, *, rate_count=None):
        """simplejwt's checks (user exists, is active, password unchanged), one query."""
        if self.user_model._meta.pk.attname != api_settings.USER_ID_FIELD:
            return super().get_user(validated_token)
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        user = user_with_permissions(user_id, rate_count=rate_count)
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != _password_md5(user.password):
            raise AuthenticationFailed(
                _("The user's password has been changed."), code="password_changed"
            )
        return user
