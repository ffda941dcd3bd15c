"""``POST /webhooks/bsale/``: the secret, the body's checks, the queued job, and the job
run by a real ``db_worker`` (in process) against a real Bsale-speaking source."""

import io

import orjson
import pytest
from django.core.management import call_command
from django.test import Client
from django_tasks_db.models import DBTaskResult

from sales.models import Document
from tests.mirror.sources import source_getter, walk

SECRET = "s3cret-webhook-token"
URL = f"/webhooks/bsale/?token={SECRET}"


def body(**overrides) -> bytes:
    data = {
        "cpnId": 2,
        "resource": "/v1/documents/1000000123.json",
        "resourceId": "1000000123",
        "topic": "document",
        "action": "post",
        "officeId": "1",
        **overrides,
    }
    return orjson.dumps(data)


def post(data: bytes, url: str = URL, **headers):
    return Client().post(url, data=data, content_type="application/json", **headers)


@pytest.fixture
def enabled(settings):
    settings.BSALE_WEBHOOK_SECRET = SECRET
    settings.BSALE_COMPANY_ID = "2"
    return settings


@pytest.mark.django_db
def test_disabled_without_a_secret(settings):
    settings.BSALE_WEBHOOK_SECRET = ""
    response = post(body())
    assert response.status_code == 404
    assert "error" in response.json()
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/webhooks/bsale/", "/webhooks/bsale/?token=wrong"])
def test_a_wrong_or_missing_token_is_401(enabled, url):
    response = post(body(), url)
    assert response.status_code == 401
    assert response.json() == {"error": "A valid webhook token is required."}
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_the_token_may_come_in_a_header(enabled):
    response = post(body(), "/webhooks/bsale/", HTTP_X_WEBHOOK_TOKEN=SECRET)
    assert response.status_code == 202


@pytest.mark.django_db
@pytest.mark.parametrize("data", [b"{not json", b"[1, 2]", b"", b'"text"'])
def test_a_malformed_body_is_400_json(enabled, data):
    response = post(data)
    assert response.status_code == 400
    assert response.json()["error"]
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_another_company_is_refused(enabled):
    response = post(body(cpnId=999))
    assert response.status_code == 403
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_an_unknown_topic_is_acknowledged_and_ignored(enabled):
    response = post(body(topic="stock", resource="/v1/stocks/1.json"))
    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "topic": "stock"}
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "resource",
    ["/v1/documents/abc.json", "/admin/", "/v1/documents/1.json/../../users.json", None, 7],
)
def test_a_resource_outside_the_four_paths_is_400(enabled, resource):
    response = post(body(resource=resource))
    assert response.status_code == 400
    assert "resource" in response.json()["errors"]
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_get_is_405(enabled):
    response = Client().get(URL)
    assert response.status_code == 405


@pytest.mark.django_db
def test_a_notification_queues_one_fetch(enabled):
    response = post(body())
    assert response.status_code == 202
    job = DBTaskResult.objects.get()
    assert job.task_path == "mirror.tasks.mirror_resource"
    assert job.args_kwargs["kwargs"] == {"resource": "documents", "pk": 1000000123}


def run_worker() -> None:
    call_command(
        "db_worker", "--batch", "--no-startup-delay", "--no-reload", "-v", "0", stdout=io.StringIO()
    )


@pytest.mark.server
@pytest.mark.django_db(transaction=True)
def test_the_worker_fetches_the_document_and_what_it_references(enabled, source):
    enabled.BSALE_API_URL, enabled.BSALE_ACCESS_TOKEN = source.url, source.token
    enabled.BSALE_RATE_LIMIT = "off"
    document = walk(source_getter(source), "/v1/documents.json?limit=50")[-1]
    data = body(resource=f"/v1/documents/{document['id']}.json", resourceId=str(document["id"]))
    assert post(data).status_code == 202
    run_worker()
    job = DBTaskResult.objects.get()
    assert job.status == "SUCCESSFUL", job.traceback
    mirrored = Document.objects.get(pk=document["id"])
    # Its seller, office and type were missing here: fetched and upserted too.
    assert mirrored.user_id == int(document["user"]["id"])
    assert mirrored.office_id == int(document["office"]["id"])
    assert mirrored.document_type_id == int(document["document_type"]["id"])
    # A replay is harmless: nothing changes.
    assert post(data).status_code == 202
    run_worker()
    replay = DBTaskResult.objects.order_by("-enqueued_at").first()
    assert replay.status == "SUCCESSFUL"
    assert replay.return_value == {"created": 0, "updated": 0, "unchanged": 1}
    assert Document.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failed_fetch_is_retried_later_with_backoff(enabled):
    # Nothing listens on port 9 (discard): every try fails at once.
    enabled.BSALE_API_URL, enabled.BSALE_ACCESS_TOKEN = "http://127.0.0.1:9", "t"
    enabled.BSALE_RETRIES, enabled.BSALE_RATE_LIMIT = 1, "off"
    assert post(body()).status_code == 202
    run_worker()
    failed = DBTaskResult.objects.get(status="FAILED")
    assert "BsaleError" in failed.exception_class_path
    retry = DBTaskResult.objects.get(status="READY")
    assert retry.args_kwargs["kwargs"]["attempt"] == 2
    delay = (retry.run_after - failed.finished_at).total_seconds()
    assert 10 <= delay <= 50  # 30 s x jitter (0.5-1.5), minus the run's own time


@pytest.mark.django_db(transaction=True)
def test_retries_stop_after_the_last_attempt(enabled):
    enabled.BSALE_API_URL, enabled.BSALE_ACCESS_TOKEN = "http://127.0.0.1:9", "t"
    enabled.BSALE_RETRIES, enabled.BSALE_RATE_LIMIT = 1, "off"
    enabled.MIRROR_TASK_ATTEMPTS = 2
    from mirror.tasks import mirror_resource

    mirror_resource.enqueue(resource="documents", pk=5, attempt=2)
    run_worker()
    assert DBTaskResult.objects.filter(status="FAILED").count() == 1
    assert not DBTaskResult.objects.filter(status="READY").exists()


@pytest.mark.server
@pytest.mark.django_db(transaction=True)
def test_a_queued_sync_runs_on_the_worker_and_records_who_asked(enabled, source):
    from mirror.models import SyncRun
    from mirror.tasks import sync_bsale
    from tests.factories import UserFactory

    enabled.BSALE_API_URL, enabled.BSALE_ACCESS_TOKEN = source.url, source.token
    staff = UserFactory(is_staff=True)
    sync_bsale.enqueue(trigger="admin", started_by_id=staff.pk)
    run_worker()
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    run = SyncRun.objects.get()
    assert (run.trigger, run.started_by_id, run.status) == ("admin", staff.pk, "succeeded")
    assert run.counts["documents"]["created"] == 300


@pytest.mark.django_db(transaction=True)
def test_a_sync_without_a_token_fails_at_once_without_retries(enabled):
    from mirror.tasks import sync_bsale

    enabled.BSALE_ACCESS_TOKEN = ""
    sync_bsale.enqueue(trigger="admin")
    run_worker()
    failed = DBTaskResult.objects.get()
    assert failed.status == "FAILED" and "BsaleConfigError" in failed.exception_class_path
