"""``common.renderers.JSONContentNegotiation``: DRF's answer, sooner."""

import pytest
from django.http import Http404
from django.test import RequestFactory
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.test import APIClient

from common.errors import InvalidInput
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
    [(None, ""), ("json", ""), ("xml", ""), (None, "?format=json"), ("json", "?format=xml")],
)
def test_the_same_answer_as_drf(accept, format_suffix, query):
    expected = _answer(DefaultContentNegotiation(), accept, format_suffix, query)
    assert _answer(JSONContentNegotiation(), accept, format_suffix, query) == expected


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("asked", ["xml", "0", "JSON", "api"])
def test_a_format_other_than_json_is_a_400_that_says_so(accept, asked):
    """DRF would answer a bare 404, as if the resource did not exist."""
    with pytest.raises(InvalidInput) as raised:
        _answer(JSONContentNegotiation(), accept, None, f"?format={asked}")
    assert raised.value.errors == {"format": [f"Unsupported format {asked!r}."]}


@pytest.mark.django_db
def test_the_400_reaches_the_client_as_json():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(UserFactory(is_superuser=True))}")
    response = get(client, "/v1/users.json?format=xml")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"].startswith("format must be 'json' or left out")
    assert get(client, "/v1/users.json?format=json").status_code == 200


@pytest.mark.django_db
def test_a_client_that_wants_no_json_gets_a_json_406():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(UserFactory(is_superuser=True))}")
    response = get(client, "/v1/users.json", HTTP_ACCEPT="text/html")
    assert response.status_code == 406
    assert "error" in response.json()
    assert get(client, "/v1/users.json", HTTP_ACCEPT="application/json").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/v1/users/{id}.json", "/v1/users.json?expand=[office]", "/v1/users/count.json"],
)
def test_json_rendered_at_once_is_what_drf_would_send(path, monkeypatch):
    """``json_response`` skips DRF's template-response round: same status, bytes, headers."""
    from rest_framework.response import Response

    import common.viewsets

    user = UserFactory(is_superuser=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    url = path.format(id=user.pk)

    def answers():
        response = get(client, url, HTTP_X_REQUEST_ID="same-id")
        return response.status_code, response.content, sorted(response.items())

    ours = answers()
    monkeypatch.setattr(common.viewsets, "json_response", lambda request, data: Response(data))
    assert answers() == ours


def test_json_response_leaves_other_renderers_to_drf():
    from rest_framework.renderers import JSONRenderer
    from rest_framework.response import Response

    from common.renderers import json_response

    request = Request(RequestFactory().get("/v1/users.json"))
    request.accepted_renderer = JSONRenderer()
    assert isinstance(json_response(request, {"a": 1}), Response)
    request.accepted_renderer = ORJSONRenderer()
    response = json_response(request, {"a": 1})
    assert not isinstance(response, Response)
    assert (response.content, response["Content-Type"]) == (b'{"a":1}', "application/json")
