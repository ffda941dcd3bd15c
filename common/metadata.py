"""``OPTIONS`` answers the view's name and allowed methods (DRF's default needs serializers)."""

from rest_framework.metadata import BaseMetadata


class AllowedMethodsMetadata(BaseMetadata):
    def determine_metadata(self, request, view) -> dict:
        return {"name": view.get_view_name(), "methods": list(view.allowed_methods)}
