"""Background jobs on the queue (django-tasks, database backend; workers: ``manage.py
db_worker``). Webhook fetches and syncs started from the admin run here, never in a
web worker.

A failed job is retried with exponential backoff and jitter: it enqueues its next
attempt with ``run_after`` (``attempt`` counts them, up to ``MIRROR_TASK_ATTEMPTS``),
then fails, so each failure stays visible to staff in the admin's task results.
"""

from __future__ import annotations

import datetime as dt
import logging
import random

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from mirror.bsale_client import BsaleConfigError, BsaleError, BsaleNotFound
from mirror.models import SyncRun
from mirror.sync import SyncBusy, make_client, mirror_one, run_sync

logger = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600


def retry_delay(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: 30 s, 60 s, 120 s... (x0.5-1.5 jitter), <= 1 h."""
    return min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempt - 1)) * random.uniform(
        0.5, 1.5
    )


def _retry_or_raise(job, kwargs: dict, exc: Exception) -> None:
    attempt = kwargs.get("attempt", 1)
    if (
        isinstance(exc, BsaleNotFound | BsaleConfigError)
        or attempt >= settings.MIRROR_TASK_ATTEMPTS
    ):
        logger.error("%s %s failed for good (attempt %d): %s", job.name, kwargs, attempt, exc)
        return
    delay = retry_delay(attempt)
    job.using(run_after=timezone.now() + dt.timedelta(seconds=delay)).enqueue(
        **{**kwargs, "attempt": attempt + 1}
    )
    logger.warning(
        "%s %s failed (attempt %d: %s); attempt %d in %.0f s",
        job.name,
        kwargs,
        attempt,
        exc,
        attempt + 1,
        delay,
    )


@task()
def mirror_resource(*, resource: str, pk: int, attempt: int = 1) -> dict:
    """Fetch one Bsale record (a webhook's ``resource``) and upsert it."""
    try:
        return mirror_one(make_client(), resource, pk)
    except Exception as exc:
        _retry_or_raise(mirror_resource, {"resource": resource, "pk": pk, "attempt": attempt}, exc)
        raise


@task()
def sync_bsale(
    *, trigger: str = SyncRun.Trigger.ADMIN, started_by_id: int | None = None, attempt: int = 1
) -> dict:
    """An incremental sync, as ``manage.py sync_bsale`` runs it."""
    try:
        run, syncer = run_sync(client=make_client(), trigger=trigger, started_by_id=started_by_id)
    except SyncBusy:
        raise  # a sync is already running: it does the work this one would
    except (BsaleError, Exception) as exc:
        kwargs = {"trigger": trigger, "started_by_id": started_by_id, "attempt": attempt}
        _retry_or_raise(sync_bsale, kwargs, exc)
        raise
    return {"run": run.pk, "counts": syncer.summary(), "requests": syncer.client.requests}
