"""Back office for users (Bsale sellers and Leancore merchants) and the audit trail.

Quota changes (the change form and the changelist's editable column) go through
``users.services.user_quota_update``: every change lands in the audit trail with source
"admin" and the staff member as actor. The sales app extends this page with the user's
sales history (``sales.admin.UserAdmin``).
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from common.admin import ProtectedDeleteMixin
from common.money import CENT
from users.models import AuditEntry, User
from users.services import audit_record, user_quota_update

RECENT_AUDIT_LIMIT = 10


def _short_json(value, length: int = 160) -> str:
    if value is None:
        return "—"
    return Truncator(json.dumps(value, ensure_ascii=False)).chars(length)


@admin.register(User)
class UserAdmin(ProtectedDeleteMixin, DjangoUserAdmin):
    list_display = (
        "id",
        "username",
        "first_name",
        "last_name",
        "email",
        "office",
        "business_name",
        "quota",
        "is_active",
        "is_staff",
    )
    list_display_links = ("id", "username")
    list_editable = ("quota",)
    list_select_related = ("office",)
    list_filter = ("is_active", "is_staff", "is_superuser", "office", "groups")
    # Words in names (contains); identifiers exact. Each "contains" field is a LIKE over
    # every user, so only the name fields get one.
    search_fields = (
        "username",
        "first_name",
        "last_name",
        "business_name",
        "=email",
        "=nit",
        "=phone",
        "=uuid",
    )
    search_help_text = _(
        "Part of the username, name or business name; or the exact email, NIT, phone or UUID."
    )
    autocomplete_fields = ("office",)
    readonly_fields = ("uuid", "recent_audit")
    ordering = ("-id",)
    show_full_result_count = False
    list_per_page = 50
    # Django 6 makes https the default scheme of URL inputs; say so now (and no warning).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    fieldsets = (
        (None, {"fields": ("username", "password", "uuid")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email", "office")}),
        (
            _("Leancore profile"),
            {
                "fields": (
                    "business_name",
                    "quota",
                    "status",
                    "phone",
                    "nit",
                    "address",
                    "image",
                    "score",
                    "ecosystem",
                    "business_entity",
                    "apn_token",
                    "payment_data",
                    "additional_data",
                )
            },
        ),
        (_("Audit trail"), {"fields": ("recent_audit",)}),
        (
            _("Permissions"),
            {
                "classes": ("collapse",),
                "fields": (
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                ),
            },
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "usable_password", "password1", "password2"),
            },
        ),
        (
            _("Profile"),
            {
                "classes": ("wide",),
                "fields": ("first_name", "last_name", "email", "office", "business_name", "quota"),
            },
        ),
    )

    # --- Read-only panels -------------------------------------------------------------

    @admin.display(description=_("recent changes"))
    def recent_audit(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        entries = list(
            AuditEntry.objects.filter(user=obj)
            .order_by("-created_at", "-id")
            .only("created_at", "source", "field", "actor_repr", "before", "after")[
                :RECENT_AUDIT_LIMIT
            ]
        )
        url = reverse("admin:users_auditentry_changelist") + f"?user__exact={obj.pk}"
        if not entries:
            return format_html(
                '{} <a href="{}">{}</a>',
                _("No change recorded yet."),
                url,
                _("Audit trail"),
            )
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    date_format(timezone.localtime(entry.created_at), "SHORT_DATETIME_FORMAT"),
                    entry.get_field_display(),
                    entry.get_source_display(),
                    entry.actor_repr or "—",
                    _short_json(entry.before),
                    _short_json(entry.after),
                )
                for entry in entries
            ),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
            '<th>{}</th></tr></thead><tbody>{}</tbody></table><p><a href="{}">{}</a></p>',
            _("when"),
            _("what"),
            _("how"),
            _("changed by"),
            _("before"),
            _("after"),
            rows,
            url,
            _("Whole audit trail of this user"),
        )

    # --- Saving: the quota through the audited service ---------------------------------

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            if obj.quota:
                audit_record(
                    user=obj,
                    actor=request.user,
                    source=AuditEntry.Source.ADMIN,
                    field=AuditEntry.Field.QUOTA,
                    before=None,
                    after=str(obj.quota.quantize(CENT)),
                )
            return
        # The plain save writes every changed column but the quota; the quota goes through
        # the service, which locks the row, compares with the stored value, writes it once
        # and records the change (and records nothing when it did not change).
        changed = set(form.changed_data)
        columns = {f.name for f in obj._meta.concrete_fields if not f.primary_key}
        update_fields = sorted((changed & columns) - {"quota"})
        if update_fields:
            obj.save(update_fields=update_fields)
        if "quota" in changed:
            user_quota_update(
                user=obj, quota=obj.quota, actor=request.user, source=AuditEntry.Source.ADMIN
            )


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit trail: readable by staff with the view permission, changeable by nobody."""

    list_display = (
        "created_at",
        "user_link",
        "field",
        "source",
        "actor_repr",
        "before_short",
        "after_short",
    )
    list_display_links = ("created_at",)
    list_filter = ("source", "field")
    search_fields = ("user_repr", "actor_repr")
    search_help_text = _("User or staff member, as they were named at the time.")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    show_full_result_count = False
    fields = (
        "created_at",
        "user",
        "user_repr",
        "actor",
        "actor_repr",
        "source",
        "field",
        "before",
        "after",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("user"), ordering="user_repr")
    def user_link(self, obj):
        if obj.user_id is None:
            return obj.user_repr
        url = reverse("admin:users_user_change", args=(obj.user_id,))
        return format_html('<a href="{}">{}</a>', url, obj.user_repr)

    @admin.display(description=_("before"))
    def before_short(self, obj):
        return _short_json(obj.before, 80)

    @admin.display(description=_("after"))
    def after_short(self, obj):
        return _short_json(obj.after, 80)
