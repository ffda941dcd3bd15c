"""Back office for users (Bsale sellers and Leancore merchants) and the audit trail.

Quota changes (the change form and the changelist's editable column) go through
``users.services.user_quota_update``: every change lands in the audit trail with source
"admin" and the staff member as actor. The sales app extends this page with the user's
sales history (``sales.admin.UserAdmin``).
"""

from __future__ import annotations

from axes import admin as _axes_admin  # noqa: F401 (registers axes' models now, see below)
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, pgettext_lazy

from common.admin import ProtectedDeleteMixin
from common.money import CENT
from users.audit_display import change_lines
from users.models import AuditEntry, User
from users.services import audit_record, user_quota_update

RECENT_AUDIT_LIMIT = 10
AUDIT_LIST_LINES = 4  # changed history entries shown per audit row (then "and N more")


# Leancore's ``status`` is free text, stored and sent as the API has it ("active"); the
# admin shows the values Leancore uses in the staff member's language, others as they are.
LEANCORE_STATUSES = {
    "active": pgettext_lazy("Leancore status", "active"),
    "pending": pgettext_lazy("Leancore status", "pending"),
    "blocked": pgettext_lazy("Leancore status", "blocked"),
    "suspended": pgettext_lazy("Leancore status", "suspended"),
    "inactive": pgettext_lazy("Leancore status", "inactive"),
}


def status_label(value: str) -> str:
    return LEANCORE_STATUSES.get(value, value) or "—"


class StatusSelect(forms.Select):
    """Leancore's known statuses, translated; a stored value outside them stays a choice."""

    def get_context(self, name, value, attrs):
        known = [("", "—"), *LEANCORE_STATUSES.items()]
        if value and value not in LEANCORE_STATUSES:
            known.append((value, value))
        self.choices = known
        return super().get_context(name, value, attrs)


# django-axes' section (login attempts and lockouts) is for the people who unlock
# accounts: superusers. Other staff never see it on the index. Its names in Spanish:
gettext_noop("access attempt")
gettext_noop("access attempts")
gettext_noop("access failure")
gettext_noop("access failures")
gettext_noop("access log")
gettext_noop("access logs")
for _model in (AccessAttempt, AccessLog, AccessFailureLog):
    if _model in admin.site._registry:  # AXES_ENABLE_ADMIN (default True)
        admin.site._registry[_model].has_module_permission = lambda request: (
            request.user.is_active and request.user.is_superuser
        )


def _change_html(entry: AuditEntry, *, limit: int) -> str:
    """The change, one "field: before → after" line each (``users.audit_display``)."""
    lines = change_lines(entry.field, entry.before, entry.after, limit=limit)
    return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))


@admin.register(User)
class UserAdmin(ProtectedDeleteMixin, DjangoUserAdmin):
    # What staff look for at 1400 px: who (username, name, business), where, the quota
    # (editable), the Leancore status and whether the account is active. Email, NIT and
    # phone are searchable; staff/superuser are filters.
    list_display = (
        "username",
        "full_name",
        "business_name",
        "office",
        "quota",
        "status_label",
        "is_active",
    )
    list_display_links = ("username",)
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

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "status":
            kwargs["widget"] = StatusSelect
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description=_("name"), ordering="last_name")
    def full_name(self, obj):
        return f"{obj.first_name} {obj.last_name}".strip() or "—"

    @admin.display(description=_("status"), ordering="status")
    def status_label(self, obj):
        return status_label(obj.status)

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
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    date_format(timezone.localtime(entry.created_at), "SHORT_DATETIME_FORMAT"),
                    entry.get_field_display(),
                    entry.get_source_display(),
                    entry.actor_repr or "—",
                    _change_html(entry, limit=3),
                )
                for entry in entries
            ),
        )
        return format_html(
            '<table class="audit-recent"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th>'
            '<th>{}</th></tr></thead><tbody>{}</tbody></table><p><a href="{}">{}</a></p>',
            _("when"),
            _("what"),
            _("how"),
            _("changed by"),
            _("change"),
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

    list_display = ("when", "user_link", "field", "source", "changed_by", "change")
    list_display_links = ("when",)
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
        "change",  # before → after, readable; the raw JSON stays in the table
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

    @admin.display(description=_("when"), ordering="created_at")
    def when(self, obj):
        return date_format(timezone.localtime(obj.created_at), "SHORT_DATETIME_FORMAT")

    @admin.display(description=_("changed by"), ordering="actor_repr")
    def changed_by(self, obj):
        return obj.actor_repr or "—"

    @admin.display(description=_("change"))
    def change(self, obj):
        return _change_html(obj, limit=AUDIT_LIST_LINES)
