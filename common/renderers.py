"""JSON rendering with orjson: fast, and exact for money."""

from datetime import date, datetime
from decimal import Decimal

import orjson
from django.http import HttpResponse
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response


def money_json(value: Decimal) -> orjson.Fragment:
    """A Decimal as an exact JSON number, at least one decimal: ``255000.00`` -> ``255000.0``."""
    text = f"{value:f}"
    if text[-1] == "0" and "." in text:  # ordered so that most amounts take one test
        text = text.rstrip("0")
        if text[-1] == ".":
            text += "0"
    elif "." not in text:
        text += ".0"
    return orjson.Fragment(text)


def _default(value):
    if isinstance(value, Decimal):
        return money_json(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def dumps(data) -> bytes:
    return orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)


class ORJSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None  # orjson writes UTF-8; JSON needs no charset parameter

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        return dumps(data)


def json_response(request, data) -> HttpResponse:
    """``Response(data)``, or the same bytes rendered at once when negotiation chose the
    JSON renderer: DRF's deferred rendering is a measurable cost (docs/performance.md)."""
    renderer = getattr(request, "accepted_renderer", None)
    if type(renderer) is ORJSONRenderer:
        return HttpResponse(renderer.render(data), content_type=renderer.media_type)
    return Response(data)


# What API clients send: no Accept header, or one that JSON satisfies without parsing.
_JSON_ACCEPTS = frozenset({"*/*", "application/json", "application/*"})


class JSONContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, answered at once when the client accepts JSON (ranking costs more
    than rendering a detail); a ``?format=`` other than json is a 400, not DRF's bare 404."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if len(renderers) == 1 and renderers[0].media_type == "application/json":
            renderer = renderers[0]
            override = self.settings.URL_FORMAT_OVERRIDE
            asked = request.query_params.get(override) if override else None
            if asked and not format_suffix and asked != renderer.format:
                # Imported here: common.errors imports DRF, whose settings import this.
                from common.errors import InvalidInput

                raise InvalidInput(
                    f"{override} must be '{renderer.format}' or left out: this API answers"
                    " in JSON only.",
                    {override: [f"Unsupported format {asked!r}."]},
                )
            format_ = format_suffix or asked
            accept = request.META.get("HTTP_ACCEPT", "*/*")
            if (not format_ or format_ == renderer.format) and accept in _JSON_ACCEPTS:
                return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)
