"""``POST /webhooks/bsale/``: Bsale's notifications in, a queued fetch out (docs/mirror.md).

Bsale signs nothing, so the operator's secret is the credential: a ``token`` query
parameter in the URL given to Bsale (or an ``X-Webhook-Token`` header), compared in
constant time. The view answers at once; the worker does the fetching.
"""

from __future__ import annotations

import hmac
import logging

import orjson
from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from mirror.sync import parse_resource_path
from mirror.tasks import mirror_resource

logger = logging.getLogger(__name__)

# Bsale's topics whose resource this mirror keeps; others (product, stock, price...)
# are acknowledged and ignored.
HANDLED_TOPICS = {"document", "documents"}


def _error(status: int, message: str, errors: dict | None = None) -> JsonResponse:
    body = {"error": message}
    if errors:
        body["errors"] = errors
    return JsonResponse(body, status=status)


@csrf_exempt
def bsale_webhook(request):
    secret = settings.BSALE_WEBHOOK_SECRET
    if not secret:
        # 404: a disabled endpoint does not exist, as far as callers are concerned.
        return _error(404, "Bsale webhooks are not enabled on this server (BSALE_WEBHOOK_SECRET).")
    if request.method != "POST":
        response = _error(405, "Use POST.")
        response["Allow"] = "POST"
        return response
    given = request.headers.get("X-Webhook-Token") or request.GET.get("token") or ""
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return _error(401, "A valid webhook token is required.")
    try:
        body = orjson.loads(request.body)
    except orjson.JSONDecodeError:
        return _error(400, "The body must be a JSON object.")
    if not isinstance(body, dict):
        return _error(400, "The body must be a JSON object.")
    company = settings.BSALE_COMPANY_ID
    if company and str(body.get("cpnId", "")) != company:
        logger.warning("Bsale webhook for another company refused: cpnId=%r", body.get("cpnId"))
        return _error(403, "This notification is for another company.")
    topic = body.get("topic")
    if topic not in HANDLED_TOPICS:
        logger.info("Bsale webhook with topic %r acknowledged and ignored", topic)
        return JsonResponse(
            {"status": "ignored", "topic": topic if isinstance(topic, str) else None}
        )
    try:
        resource, pk = parse_resource_path(
            body.get("resource") if isinstance(body.get("resource"), str) else ""
        )
    except ValueError:
        return _error(
            400,
            "The resource must be a Bsale path such as /v1/documents/123.json.",
            {"resource": ["must be /v1/<offices|document_types|users|documents>/<id>.json"]},
        )
    job = mirror_resource.enqueue(resource=resource, pk=pk)
    return JsonResponse({"status": "queued", "job": str(job.id)}, status=202)
