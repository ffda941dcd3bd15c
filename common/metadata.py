"""What ``OPTIONS`` answers on the API: the methods the path allows (its ``Allow`` header).

DRF lists OPTIONS in every view's ``Allow`` header; its default self-description needs
serializers, which the Bsale resources do not use. This answers OPTIONS (200) with the
view's name and methods, so the header and the method agree. Authentication and
permissions apply as to any method.
"""

from rest_framework.metadata import BaseMetadata


class AllowedMethodsMetadata(BaseMetadata):
    def determine_metadata(self, request, view) -> dict:
        return {"name": view.get_view_name(), "methods": list(view.allowed_methods)}
