"""Mirror a real Bsale-speaking server (this project's /v1/ under gunicorn, seeded) into
the test database with ``sync_bsale --url --token``, then compare every resource and the
sales summary through both APIs: identical. A second run changes nothing, and rows
created here afterwards never collide with mirrored ids (PostgreSQL too)."""

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from common.sequences import LOCAL_ID_START
from mirror.models import SyncRun
from offices.models import Office
from sales.models import Document, DocumentType
from tests.conftest import token_for
from tests.mirror.sources import source_getter, summary_path, walk
from users.models import User

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

LISTS = ["/v1/offices.json", "/v1/document_types.json", "/v1/users.json", "/v1/documents.json"]


def sync(source, *extra) -> str:
    out = io.StringIO()
    call_command("sync_bsale", "--url", source.url, "--token", source.token, *extra, stdout=out)
    return out.getvalue()


def mirror_getter(reader):
    client = APIClient()
    client.credentials(HTTP_ACCESS_TOKEN=token_for(reader))

    def get(url: str) -> dict:
        url = url.removeprefix("http://testserver")
        response = client.get(url)
        assert response.status_code == 200, response.content
        return response.json()

    return get


def normalized(data, base: str):
    """Hrefs name their own host; everything else must be byte for byte the same."""
    import json

    return json.loads(json.dumps(data).replace(base, "BASE").replace("http://testserver", "BASE"))


def test_mirror_matches_the_source_and_a_second_run_changes_nothing(source):
    out = sync(source)
    assert "documents" in out and "requests in" in out
    first = SyncRun.objects.get()
    assert first.status == SyncRun.Status.SUCCEEDED
    assert first.counts["documents"]["created"] == 300
    assert first.requests > 0

    # A superuser created here after the sync takes an id no Bsale record has.
    admin = User.objects.create_superuser("admin", "admin@example.com", "pw-123456789")
    assert admin.pk >= LOCAL_ID_START
    mirrored_ids = set(User.objects.exclude(pk=admin.pk).values_list("pk", flat=True))
    assert admin.pk not in mirrored_ids
    office = Office.objects.create(name="Local office")
    dtype = DocumentType.objects.create(name="Local type")
    assert office.pk >= LOCAL_ID_START and dtype.pk >= LOCAL_ID_START

    from_source, from_mirror = source_getter(source), mirror_getter(admin)
    local = {
        "/v1/offices.json": office.pk,
        "/v1/document_types.json": dtype.pk,
        "/v1/users.json": admin.pk,
        "/v1/documents.json": None,
    }
    for path in LISTS:
        theirs = normalized(walk(from_source, path), source.url)
        ours = normalized(walk(from_mirror, path), source.url)
        ours = [item for item in ours if item["id"] != local[path]]
        assert ours == theirs, path
        assert len(theirs) > 0
    assert normalized(from_mirror(summary_path()), source.url) == normalized(
        from_source(summary_path()), source.url
    )

    # Second run: nothing created or updated, nothing written.
    out = sync(source)
    second = SyncRun.objects.order_by("-pk").first()
    for resource, counts in second.counts.items():
        assert counts["created"] == 0 and counts["updated"] == 0, (resource, counts)
    # The local superuser was never touched (Bsale does not list it: kept, counted).
    admin.refresh_from_db()
    assert admin.is_superuser and admin.is_active and admin.username == "admin"
    assert second.counts["users"].get("missing") == 1


def test_what_this_system_owns_survives_and_bsale_owns_the_rest(source):
    sync(source)
    seller = User.objects.filter(username__startswith="bsale-", is_active=True).first()
    assert not seller.has_usable_password()
    User.objects.filter(pk=seller.pk).update(
        quota=1234, first_name="Edited here", business_name="Bodega X", is_staff=True
    )
    source.sql(
        "UPDATE users_user SET last_name = 'Renamed', is_active = 0 WHERE id = ?", (seller.pk,)
    )
    try:
        sync(source)
        seller.refresh_from_db()
        # Bsale's fields follow Bsale (the local edit of first_name is undone)...
        assert seller.last_name == "Renamed" and not seller.is_active
        assert seller.first_name != "Edited here"
        # ...what this system adds survives.
        assert seller.quota == 1234 and seller.business_name == "Bodega X" and seller.is_staff
        assert seller.username == f"bsale-{seller.pk}"
    finally:
        source.sql("UPDATE users_user SET is_active = 1 WHERE id = ?", (seller.pk,))


def test_dry_run_writes_nothing(source):
    out = sync(source, "--dry-run")
    assert "Dry run" in out
    assert not Document.objects.exists() and not User.objects.exists()
    assert not SyncRun.objects.exists()
