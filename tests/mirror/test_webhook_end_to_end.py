"""Webhook end to end, every part a real process: a notification to the mirror's
gunicorn -> a job in the queue (the database) -> a real ``manage.py db_worker``
fetching from the Bsale source's gunicorn -> the document visible through the
mirror's /v1/."""

import signal
import subprocess
import time

import pytest
import requests

from scripts.processes import manage_env, start_manage
from tests.mirror.sources import migrated_with_client, source_getter, walk
from tests.servers import gunicorn

pytestmark = pytest.mark.server

SECRET = "e2e-webhook-secret"


def test_notification_queue_worker_api(source, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'mirror.sqlite3'}"
    token = migrated_with_client(database_url, "reader", days=1)
    env = {
        "DATABASE_URL": database_url,
        "BSALE_API_URL": source.url,
        "BSALE_ACCESS_TOKEN": source.token,
        "BSALE_WEBHOOK_SECRET": SECRET,
        "BSALE_COMPANY_ID": "1",
    }
    document = walk(source_getter(source), "/v1/documents.json?limit=50")[0]
    worker_env = manage_env(**env)
    worker = start_manage(
        worker_env,
        *("db_worker", "--interval", "0.2", "--no-reload"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        with gunicorn(env) as mirror:
            headers = {"access_token": token}
            url = f"{mirror}/v1/documents/{document['id']}.json"
            assert requests.get(url, headers=headers, timeout=10).status_code == 404
            began = time.monotonic()
            response = requests.post(
                f"{mirror}/webhooks/bsale/?token={SECRET}",
                json={
                    "cpnId": 1,
                    "resource": f"/v1/documents/{document['id']}.json",
                    "resourceId": str(document["id"]),
                    "topic": "document",
                    "action": "post",
                    "send": 1,
                },
                timeout=10,
            )
            assert response.status_code == 202, response.text
            assert time.monotonic() - began < 1  # queued, not fetched in the request
            deadline = time.monotonic() + 60
            while True:
                got = requests.get(url, headers=headers, timeout=10)
                if got.status_code == 200 or time.monotonic() > deadline:
                    break
                assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
                time.sleep(0.3)
            assert got.status_code == 200, got.text
            mirrored = got.json()
            assert {k: v for k, v in mirrored.items() if k != "href"} == {
                k: v for k, v in document.items() if k != "href"
            } | {
                key: {**document[key], "href": document[key]["href"].replace(source.url, mirror)}
                for key in ("document_type", "office", "user")
            }
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
