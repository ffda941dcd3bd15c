"""Routes with Bsale's optional ``.json`` suffix: ``/v1/users.json`` and ``/v1/users``."""

from rest_framework.routers import SimpleRouter


class BsaleRouter(SimpleRouter):
    def __init__(self):
        super().__init__(trailing_slash=False)
        self.trailing_slash = r"(?:\.json|/)?"

    def register_actions(self, prefix: str, viewset, basename: str) -> None:
        """Another app's action-only viewset under a registered prefix and basename.

        The URLs and their names are those the actions would have on the resource's own
        viewset (``user-sales``), and the resource's app need not import the other app.
        """
        self.registry.append((prefix, viewset, basename))
        if hasattr(self, "_urls"):
            del self._urls
