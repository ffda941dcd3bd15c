"""Permissions: reading needs the model's ``view`` permission; superusers have all."""

from rest_framework.permissions import BasePermission


def model_perm(model, action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


class ModelViewPermission(BasePermission):
    """Authenticated, and allowed to view the view's model (``permission_model``).

    A view can name other permissions in ``required_perms`` (e.g. the history write).
    """

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        perms = getattr(view, "required_perms", None)
        if perms is None:
            model = getattr(view, "permission_model", None)
            if model is None:
                return True  # a view that states no model needs only a valid token
            perms = (model_perm(model, "view"),)
        return user.has_perms(perms)
