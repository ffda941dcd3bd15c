"""Routes with Bsale's optional ``.json`` suffix: ``/v1/users.json`` and ``/v1/users``."""

from rest_framework.routers import SimpleRouter

# Bsale ids are integers written in ASCII digits. Python's ``\d`` also matches other
# scripts' digits (Arabic-Indic, fullwidth), which int() then reads: /v1/users/%D9%A1.json
# would be user 1. Every route's id is matched here, whatever a viewset declares.
ID_PATTERN = r"[0-9]+"


class BsaleRouter(SimpleRouter):
    def __init__(self):
        super().__init__(trailing_slash=False)
        self.trailing_slash = r"(?:\.json|/)?"

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        lookup_field = getattr(viewset, "lookup_field", "pk")
        lookup_url_kwarg = getattr(viewset, "lookup_url_kwarg", None) or lookup_field
        return self._base_pattern.format(
            lookup_prefix=lookup_prefix, lookup_url_kwarg=lookup_url_kwarg, lookup_value=ID_PATTERN
        )

    def register_actions(self, prefix: str, viewset, basename: str) -> None:
        """Another app's action-only viewset under a registered prefix: the same URLs and
        names as on the resource's own viewset, with no import of the other app."""
        self.registry.append((prefix, viewset, basename))
        if hasattr(self, "_urls"):
            del self._urls
