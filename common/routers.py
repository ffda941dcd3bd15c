"""Routes with Bsale's optional ``.json`` suffix: ``/v1/users.json`` and ``/v1/users``."""

from rest_framework.routers import SimpleRouter


class BsaleRouter(SimpleRouter):
    def __init__(self):
        super().__init__(trailing_slash=False)
        self.trailing_slash = r"(?:\.json|/)?"
