"""``manage.py create_api_client NAME [--days N] [--password SECRET] [--rotate-secret]``."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from common.errors import InvalidInput
from users.models import User
from users.services import api_client_upsert

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

        try:
            result = api_client_upsert(
                name=name, password=password, rotate_secret=options["rotate_secret"]
            )
        except InvalidInput as exc:
            raise CommandError(exc.message) from None
        user, created, new_secret = result.user, result.created, result.secret

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
