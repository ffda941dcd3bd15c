"""Sync runs in the admin: a read-only list and a "sync now" button that queues a run."""

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from mirror.models import SyncRun
from tests.admin_helpers import admin_url, count_queries
from tests.conftest import grant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client():
    client = Client()
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    return client


def test_the_runs_list_shows_counts_and_who_started_them(superuser_client):
    starter = UserFactory(username="ops")
    for _ in range(5):
        SyncRun.objects.create(
            status=SyncRun.Status.SUCCEEDED,
            started_by=starter,
            counts={"documents": {"created": 7, "updated": 1, "unchanged": 2}},
            requests=12,
        )
    url = admin_url(SyncRun, "changelist")
    response = superuser_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "documents: 7/1/2" in html and "ops" in html
    assert "Sincronizar ahora" in html  # the back office speaks Spanish by default
    # The list's queries do not grow with its rows (the starter is joined, not fetched per row).
    few = count_queries(superuser_client, url)
    for _ in range(10):
        SyncRun.objects.create(status=SyncRun.Status.FAILED, started_by=UserFactory())
    assert count_queries(superuser_client, url) == few


def test_sync_now_queues_a_run_for_a_worker(superuser_client):
    response = superuser_client.post("/admin/mirror/syncrun/sync-now/")
    assert response.status_code == 302
    job = DBTaskResult.objects.get()
    assert job.task_path == "mirror.tasks.sync_bsale"
    assert job.args_kwargs["kwargs"]["trigger"] == "admin"
    assert not SyncRun.objects.exists()  # queued, not run in the request


def test_sync_now_needs_the_permission_and_a_post():
    staff = UserFactory(is_staff=True)
    grant(staff, "mirror.view_syncrun")
    client = Client()
    client.force_login(staff)
    url = "/admin/mirror/syncrun/sync-now/"
    assert client.post(url).status_code == 403
    grant(staff, "mirror.run_sync")
    staff = type(staff).objects.get(pk=staff.pk)  # drop the permission cache
    client.force_login(staff)
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 302
    assert DBTaskResult.objects.count() == 1


def test_runs_are_read_only(superuser_client):
    run = SyncRun.objects.create(status=SyncRun.Status.SUCCEEDED)
    assert superuser_client.get(admin_url(SyncRun, "add")).status_code == 403
    response = superuser_client.post(admin_url(SyncRun, "delete", run.pk), {"post": "yes"})
    assert response.status_code == 403
    assert SyncRun.objects.filter(pk=run.pk).exists()


def test_failed_jobs_are_visible_to_staff(superuser_client):
    response = superuser_client.get("/admin/django_tasks_database/dbtaskresult/")
    assert response.status_code == 200
