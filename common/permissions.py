"""Permissions: reading needs the model's ``view`` permission; a 403 names what is missing."""

from rest_framework.permissions import BasePermission

from common.fast_perms import has_perm


def model_perm(model, action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def require_perms(user, perms, *, what: str, errors: dict | None = None) -> None:
    """A 403 naming every permission of ``perms`` that ``user`` lacks (``what`` needs them)."""
    missing = [perm for perm in perms if not has_perm(user, perm)]
    if missing:
        # Imported here: common.errors imports DRF's views, which import this module.
        from common.errors import Forbidden

        names = ", ".join(missing)
        raise Forbidden(
            f"{what} needs the permission{'s' if len(missing) > 1 else ''} {names}, "
            "which this account does not have.",
            {**(errors or {}), "permissions": missing},
        )


class ModelViewPermission(BasePermission):
    """Authenticated, with the view's model's ``view`` permission, or ``required_perms``."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False  # DRF answers 401 (no credentials) or 403
        perms = getattr(view, "required_perms", None)
        if perms is None:
            model = getattr(view, "permission_model", None)
            if model is None:
                return True  # a view that states no model needs only a valid token
            perms = (model_perm(model, "view"),)
        require_perms(user, perms, what=f"{request.method} {request.path}")
        return True
