"""``make run``'s last setup step: demo data when the database is empty, and a demo admin."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from common.serving import base_url
from offices.models import Office
from users.models import User

DEMO_ADMIN_USERNAME = "admin"
DEMO_ADMIN_PASSWORD = "admin-demo-2026"  # a documented demo login; refused in production


class Command(BaseCommand):
    help = "Load demo data if the database is empty and ensure the demo admin login exists."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("setup_demo is for development; production has no demo login.")
        if not Office.objects.exists():
            self.stdout.write("Empty database: loading demo data (seed_demo)...")
            call_command("seed_demo", stdout=self.stdout, stderr=self.stderr)
        admin = User.objects.filter(username=DEMO_ADMIN_USERNAME).first()
        if admin is None:
            User.objects.create_superuser(
                username=DEMO_ADMIN_USERNAME,
                email="admin@example.com",
                password=DEMO_ADMIN_PASSWORD,
                first_name="Admin",
                last_name="Demo",
            )
            password_note = DEMO_ADMIN_PASSWORD
        elif admin.check_password(DEMO_ADMIN_PASSWORD):
            password_note = DEMO_ADMIN_PASSWORD
        else:
            password_note = "(changed since it was created; unchanged here)"
        self.stdout.write(
            self.style.SUCCESS(
                f"\nDemo admin login for {base_url()}/admin/\n"
                f"  username: {DEMO_ADMIN_USERNAME}\n"
                f"  password: {password_note}\n"
            )
        )
