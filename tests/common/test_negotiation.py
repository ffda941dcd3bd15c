"""``common.renderers.JSONContentNegotiation``: DRF's answer, sooner."""

import pytest
from django.http import Http404
from django.test import RequestFactory
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.test import APIClient

from common.renderers import JSONContentNegotiation, ORJSONRenderer
from tests.api_helpers import get
from tests.conftest import token_for
from tests.factories import UserFactory

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/*",
    "application/json; indent=4",
    "text/html",
    "text/html, application/json;q=0.9",
    "application/xml",
    "",
]


def _answer(negotiation, accept, format_suffix, query):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(RequestFactory().get(f"/v1/users.json{query}", **headers))
    try:
        renderer, media_type = negotiation.select_renderer(
            request, [ORJSONRenderer()], format_suffix
        )
    except (NotAcceptable, Http404) as exc:
        return type(exc).__name__
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize(
    ("format_suffix", "query"),
    [(None, ""), ("json", ""), ("xml", ""), (None, "?format=json"), (None, "?format=xml")],
)
def test_the_same_answer_as_drf(accept, format_suffix, query):
    expected = _answer(DefaultContentNegotiation(), accept, format_suffix, query)
    assert _answer(JSONContentNegotiation(), accept, format_suffix, query) == expected


@pytest.mark.django_db
def test_a_client_that_wants_no_json_gets_a_json_406():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(UserFactory(is_superuser=True))}")
    response = get(client, "/v1/users.json", HTTP_ACCEPT="text/html")
    assert response.status_code == 406
    assert "error" in response.json()
    assert get(client, "/v1/users.json", HTTP_ACCEPT="application/json").status_code == 200
