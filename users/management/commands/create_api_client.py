"""``manage.py create_api_client NAME [--days N] [--password SECRET] [--rotate-secret]``."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth.models import Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from users.models import User

API_CLIENT_PERMISSIONS = (
    "users.view_user",
    "offices.view_office",
    "sales.view_documenttype",
    "sales.view_document",
    "users.change_sales_history",
)
MAX_TOKEN_DAYS = 3650  # ten years: beyond that a token is a password that never changes


class Command(BaseCommand):
    help = (
        "Create (or update) an integration account that may read the API and update sales "
        "history, and print its client_id, client_secret and an access token. The secret "
        "also gets tokens from POST /oauth2/token and POST /api/token/. A token cannot be "
        "revoked before it expires except by deactivating the account."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="the client_id (the account's username)")
        parser.add_argument(
            "--days",
            type=int,
            default=1,
            help=f"lifetime of the printed access token in days (default 1, at most {MAX_TOKEN_DAYS})",
        )
        parser.add_argument(
            "--password",
            help="the client secret to set (default: a random one, on creation or with --rotate-secret)",
        )
        parser.add_argument(
            "--rotate-secret",
            action="store_true",
            help="give an existing client a new random secret (its old one stops working)",
        )

    def handle(self, *args, name: str, days: int, password: str | None, **options):
        name = (name or "").strip()
        if not name:
            raise CommandError("The client name must not be empty.")
        username_field = User._meta.get_field("username")
        try:
            username_field.run_validators(name)
        except ValidationError as exc:
            raise CommandError(f"Invalid client name {name!r}: {' '.join(exc.messages)}") from None
        if len(name) > username_field.max_length:
            raise CommandError(
                f"The client name must be at most {username_field.max_length} characters."
            )
        if days <= 0:
            raise CommandError("--days must be a positive number of days.")
        if days > MAX_TOKEN_DAYS:
            raise CommandError(f"--days must be at most {MAX_TOKEN_DAYS}.")
        if password is not None and not password:
            raise CommandError("--password must not be empty.")

        with transaction.atomic():
            user = User.objects.select_for_update().filter(username=name).first()
            created = user is None
            if user is not None and (user.is_staff or user.is_superuser):
                raise CommandError(
                    f"{name!r} is a staff account, not an API client; choose another name."
                )
            if created:
                user = User(username=name, first_name="API client", last_name=name)
            new_secret = password
            if new_secret is None and (created or options["rotate_secret"]):
                new_secret = secrets.token_urlsafe(32)
            if password is not None:
                try:
                    validate_password(password, user)
                except ValidationError as exc:
                    raise CommandError(f"--password: {' '.join(exc.messages)}") from None
            if new_secret is not None:
                user.set_password(new_secret)
            user.is_active = True
            user.is_staff = False
            user.is_superuser = False
            user.save()
            user.user_permissions.add(*self._permissions())

        token = AccessToken.for_user(user)
        token.set_exp(lifetime=timedelta(days=days))
        expires = timezone.localtime(token.current_time + timedelta(days=days))

        self.stdout.write(
            self.style.SUCCESS(f"{'Created' if created else 'Updated'} API client {name!r}.")
        )
        self.stdout.write(f"client_id: {name}")
        if new_secret is not None:
            self.stdout.write(f"client_secret: {new_secret}")
        else:
            self.stdout.write(
                "client_secret: (unchanged; --rotate-secret or --password sets a new one)"
            )
        self.stdout.write(f"access_token: {token}")
        self.stdout.write(f"expires: {expires.isoformat()} ({days} day{'s' if days != 1 else ''})")
        self.stdout.write(
            "Send it as 'Authorization: Bearer <token>' or 'access_token: <token>'. "
            "Keep the secret and the token private: they are shown only now."
        )

    @staticmethod
    def _permissions() -> list[Permission]:
        query = Q()
        for perm in API_CLIENT_PERMISSIONS:
            app_label, codename = perm.split(".")
            query |= Q(content_type__app_label=app_label, codename=codename)
        permissions = list(Permission.objects.filter(query))
        if len(permissions) != len(API_CLIENT_PERMISSIONS):
            found = {f"{p.content_type.app_label}.{p.codename}" for p in permissions}
            missing = sorted(set(API_CLIENT_PERMISSIONS) - found)
            raise CommandError(f"Missing permissions (run migrate first): {', '.join(missing)}")
        return permissions
