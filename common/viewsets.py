"""The base of every Bsale resource: list, detail and count, through common.bsale.payloads."""

import functools

from rest_framework import viewsets
from rest_framework.decorators import action

from common.bsale.payloads import detail_payload, list_payload
from common.bsale.resources import Resource
from common.filters import filter_or_400
from common.renderers import json_response
from common.routers import ID_PATTERN
from common.views import ReleasesResponseMixin


@functools.lru_cache(maxsize=16)
def _authenticators(classes: tuple[type, ...]) -> tuple:
    return tuple(authentication() for authentication in classes)


class ApiViewSet(ReleasesResponseMixin, viewsets.GenericViewSet):
    """The base of the /v1/ viewsets; alone, for another app's actions under a resource's
    prefix (``/v1/users/{id}/sales``, ``BsaleRouter.register_actions``)."""

    lookup_value_regex = ID_PATTERN  # what BsaleRouter matches anyway

    def get_authenticators(self):
        # Stateless: once per process, not per request.
        return _authenticators(tuple(self.authentication_classes))


class BsaleViewSet(ApiViewSet):
    """``GET /v1/<name>.json``, ``/v1/<name>/<id>.json`` and ``/v1/<name>/count.json``.

    Subclasses set ``resource``, ``filterset_class``, ``permission_model`` and
    ``get_queryset`` (a selector). Views stay thin: parse, select, serialize.
    """

    resource: Resource
    filterset_class = None

    def base_queryset(self):
        """``get_queryset()`` built once per viewset (resolving it costs a detail more than
        its lookup); a fresh, unevaluated copy per call."""
        built = type(self).__dict__.get("_built_queryset")
        if built is None:
            built = self.get_queryset()
            type(self)._built_queryset = built
        return built.all()

    def filtered_queryset(self):
        queryset = self.base_queryset()
        if self.filterset_class is None:
            return queryset
        return filter_or_400(
            self.filterset_class, self.request.query_params, queryset, self.request
        )

    def list(self, request, *args, **kwargs):
        return json_response(
            request, list_payload(request, self.filtered_queryset(), resource=self.resource)
        )

    def retrieve(self, request, pk=None, *args, **kwargs):
        return json_response(
            request, detail_payload(request, self.base_queryset(), pk, self.resource)
        )

    @action(detail=False, url_path="count")
    def count(self, request, *args, **kwargs):
        """Bsale's ``count.json``: the number of items the same filters would list."""
        return json_response(request, {"count": self.filtered_queryset().count()})
