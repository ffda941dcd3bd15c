"""``common.views.ReleasesResponseMixin``: no API response outlives its request.

Each test sends a request through Django's WSGI handler, as gunicorn does, with Python's
cyclic garbage collector off: once the server drops the response, reference counting
alone must free it (and with it the data and the body). A response kept in a reference
cycle would live until the collector runs, which is what DRF's own views do (the last
test shows the check catches it).
"""

import gc
import json
import weakref
from io import BytesIO

import pytest
from django.test import RequestFactory
from django.test.client import ClientHandler
from rest_framework.response import Response
from rest_framework.views import APIView

from common.views import ReleasesResponseMixin
from tests.conftest import READ_PERMS, grant, token_for
from tests.factories import UserFactory

HOST = "testserver"


@pytest.fixture
def collector_off():
    gc.collect()
    gc.disable()
    yield
    gc.enable()


@pytest.fixture
def token(db):
    account = UserFactory(username="client", office=None)
    grant(account, *READ_PERMS, "users.change_sales_history")
    return token_for(account)


def send(method: str, path: str, token: str, body: bytes = b"") -> tuple[weakref.ref, int, bytes]:
    """The request as a WSGI server sends it; the response's weak reference, status and
    body once the server is done with it (closed)."""
    path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": HOST,
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": HOST,
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": BytesIO(body),
        "wsgi.errors": BytesIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    # Django's test handler: the WSGI handler, minus closing the test's database connection.
    response = ClientHandler(enforce_csrf_checks=True)(environ)
    return weakref.ref(response), response.status_code, response.content


@pytest.mark.parametrize(
    "path",
    [
        "/v1/users/{pk}.json",  # JSON rendered at once (common.renderers.json_response)
        "/v1/users.json?expand=[office]",
        "/v1/users/sales_summary.json",
        "/v1/users/{pk}/sales.json",
        "/v1/users/count.json",
        "/v1/users/0.json",  # 404: DRF's Response, from the exception handler
        "/v1/users.json?limit=x",  # 400
    ],
)
def test_bsale_responses_are_freed_by_reference_counting(token, collector_off, path):
    user = UserFactory()
    response, status, content = send("GET", path.format(pk=user.pk), token)
    assert status in (200, 400, 404), content
    assert response() is None


def test_a_leancore_response_is_freed_by_reference_counting(token, collector_off):
    merchant = UserFactory()
    body = {"user_id": str(merchant.uuid), "history": []}
    response, status, content = send(
        "POST", "/update-user-sales-history", token, json.dumps(body).encode()
    )
    assert status == 200, content
    assert json.loads(content)["id"] == str(merchant.uuid)
    assert response() is None


class _Plain(APIView):
    authentication_classes = permission_classes = throttle_classes = ()

    def post(self, request):
        return Response({"got": request.data})


class _Releasing(ReleasesResponseMixin, _Plain):
    pass


@pytest.mark.parametrize(("view", "freed"), [(_Plain, False), (_Releasing, True)])
def test_drf_keeps_its_responses_in_cycles_and_the_mixin_does_not(collector_off, view, freed):
    body = {"big": "x" * 1000}
    request = RequestFactory().post("/", body, content_type="application/json")
    response = view.as_view()(request)
    # DRF's request, which holds the parsed body.
    drf_request = weakref.ref(response.renderer_context["request"])
    response.render()  # as Django's handler does after the view
    assert json.loads(response.content) == {"got": body}
    released = weakref.ref(response)
    del response
    assert (released() is None) is freed
    assert (drf_request() is None) is freed
