"""Back office for document types, documents and the sales history.

Every changelist stays fast at 1,000,000 documents: related columns come from one
``select_related`` join, foreign keys to big tables are autocomplete widgets (never a
``<select>`` of every row), a filtered changelist does not also count the whole table
(``show_full_result_count = False``), and lists sort on the primary key. Searches are
exact lookups that end on an index (see ``get_search_results``), not LIKE scans.

Two pages beyond the models live in ``sales.admin_views``: the sales summary
(``document/summary/``, with its chart and CSV) and the history import
(``saleshistoryentry/import/``); the admin index's sales dashboard is the
``sales_dashboard`` template tag (``templates/admin/index.html``).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from common.admin import ProtectedDeleteMixin
from common.errors import InvalidInput
from common.paginators import EstimatedCountPaginator
from sales import admin_views
from sales.drilldown import DrillDownQuerySet
from sales.models import Document, DocumentType, SalesHistoryEntry
from sales.services import (
    check_history_room,
    history_entries_delete,
    history_entries_edit,
    history_entry_save,
)
from users import admin as users_admin
from users.models import AuditEntry, User


class BoundedHistoryEntryForm(forms.ModelForm):
    """A new entry must fit in its user's bounded history (sales.services)."""

    def clean(self):
        cleaned = super().clean()
        user = cleaned.get("user")
        if self.instance.pk is None and user is not None:
            try:
                check_history_room(user_pk=user.pk, adding=1)
            except InvalidInput as exc:
                raise forms.ValidationError(exc.message) from None
        return cleaned


class BoundedHistoryFormSet(BaseInlineFormSet):
    """Entries added here must fit in the user's bounded history (sales.services)."""

    def clean(self):
        super().clean()
        if self.instance is None or self.instance.pk is None:
            return
        added = sum(
            1 for f in self.extra_forms if f.has_changed() and not self._should_delete_form(f)
        )
        removed = sum(1 for f in self.initial_forms if self._should_delete_form(f))
        try:
            check_history_room(user_pk=self.instance.pk, adding=added, removing=removed)
        except InvalidInput as exc:
            raise forms.ValidationError(exc.message) from None


def username_user_ids(term: str) -> list[int]:
    """Ids of the users whose username is ``term`` (case-insensitive): one small query.

    Searching related rows by ``user_id IN (...)`` uses their index; a join comparing
    ``UPPER(username)`` on every row of a million-row table would not. Unordered: with
    ``ORDER BY id LIMIT`` PostgreSQL walks the users' primary key instead of probing
    ``user_username_upper_idx`` (265 ms against 0.06 ms at 100,000 users).
    """
    matches = User.objects.filter(username__iexact=term).order_by()
    return list(matches.values_list("pk", flat=True)[:20])


@admin.register(DocumentType)
class DocumentTypeAdmin(ProtectedDeleteMixin, admin.ModelAdmin):
    list_display = ("id", "name", "code", "use", "is_electronic", "state")
    list_display_links = ("id", "name")
    list_filter = ("use", "state", "is_electronic")
    search_fields = ("name", "=code")
    ordering = ("id",)
    fields = ("name", "code", "use", "is_electronic", "state")


@admin.register(Document)
class DocumentAdmin(ProtectedDeleteMixin, admin.ModelAdmin):
    # At 1400 px: the folio, its type, date, office, seller, tax and total, and its state
    # (the net amount is total minus tax; it is on the document's page).
    list_display = (
        "number",
        "document_type",
        "emission_date",
        "office",
        "user",
        "tax_amount",
        "total_amount",
        "state",
    )
    list_display_links = ("number",)
    list_select_related = ("document_type", "office", "user")
    list_filter = ("state", "document_type", "office")
    date_hierarchy = "emission_date"
    # A folio number (exact) or a seller's username (exact, case-insensitive): both end
    # as index lookups, never a LIKE scan of a million rows (see get_search_results).
    search_fields = ("=number", "=user__username")
    search_help_text = _("Folio number, or the seller's exact username.")
    autocomplete_fields = ("document_type", "office", "user", "reference_document")
    ordering = ("-id",)
    show_full_result_count = False
    # Unfiltered, the page count comes from PostgreSQL's row estimate, not a COUNT(*)
    # of every document on every page load.
    paginator = EstimatedCountPaginator
    list_per_page = 50
    fieldsets = (
        (
            None,
            {"fields": ("document_type", "number", "state", "reference_document")},
        ),
        (
            _("Dates"),
            {"fields": ("emission_date", "expiration_date", "generation_date")},
        ),
        (_("Issued by"), {"fields": ("office", "user")}),
        (
            _("Amounts"),
            {"fields": ("net_amount", "tax_amount", "exempt_amount", "total_amount")},
        ),
    )

    def get_queryset(self, request):
        # The date drill-down probes the date index instead of a DISTINCT over every
        # document (sales/drilldown.py).
        rows = super().get_queryset(request)
        return DrillDownQuerySet(rows.model, rows.query, using=rows.db)

    def get_urls(self):
        # Before the model's own URLs, whose "<object_id>/" would swallow "summary/".
        summary = self.admin_site.admin_view(self.summary_view)
        return [path("summary/", summary, name="sales_document_summary"), *super().get_urls()]

    def summary_view(self, request):
        """The sales summary page (``sales.admin_views``); needs ``sales.view_document``."""
        return admin_views.sales_summary_view(self, request)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().strip("\"'")
        if not term:
            return queryset, False
        if term.isdigit():
            # The folio's index leads with the type: naming every type (a handful) lets
            # PostgreSQL probe it per type instead of scanning every document's number.
            types = DocumentType.objects.values("pk")
            return queryset.filter(number=int(term), document_type_id__in=types), False
        return queryset.filter(user_id__in=username_user_ids(term)), False


@admin.register(SalesHistoryEntry)
class SalesHistoryEntryAdmin(admin.ModelAdmin):
    """The whole sales history; every change made here lands in the audit trail."""

    list_display = ("emc", "user", "nit", "amount", "date", "updated_at")
    list_display_links = ("emc",)
    list_select_related = ("user",)
    # Exact matches (case-insensitive) only: a LIKE '%...%' over every entry is too slow
    # at millions of rows (see get_search_results).
    search_fields = ("=emc", "=nit", "=user__username")
    search_help_text = _("Exact EMC name, NIT or username.")
    autocomplete_fields = ("user",)
    fields = ("user", "nit", "amount", "date", "emc", "created_at", "updated_at")
    readonly_fields = ("created_at", "updated_at")
    ordering = ("-id",)
    form = BoundedHistoryEntryForm
    show_full_result_count = False
    # Unfiltered, counted from PostgreSQL's row estimate (as the documents' list is).
    paginator = EstimatedCountPaginator

    def changelist_view(self, request, extra_context=None):
        # "Historial de ventas", not "Seleccione entrada del historial de ventas a
        # modificar": the Import and Add buttons sit on the title's line.
        extra_context = {
            "title": self.model._meta.verbose_name_plural.capitalize(),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="sales_saleshistoryentry_import"), *super().get_urls()]

    def import_view(self, request):
        """Upload a history file (``sales.admin_views``); needs ``users.change_sales_history``."""
        return admin_views.history_import_view(self, request)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().strip("\"'")
        if not term:
            return queryset, False
        matches = (
            models.Q(emc__iexact=term)
            | models.Q(nit__iexact=term)
            | models.Q(user_id__in=username_user_ids(term))
        )
        return queryset.filter(matches), False

    # Writes go through the services, which record the audit entries.
    def save_model(self, request, obj, form, change):
        history_entry_save(entry=obj, actor=request.user, source=AuditEntry.Source.ADMIN)

    def delete_model(self, request, obj):
        history_entries_delete(entries=[obj], actor=request.user, source=AuditEntry.Source.ADMIN)

    def delete_queryset(self, request, queryset):
        history_entries_delete(
            entries=queryset.select_related("user"),
            actor=request.user,
            source=AuditEntry.Source.ADMIN,
        )


# --- The user page: its sales history (extends users.admin.UserAdmin) --------------------

# The user page edits the most recent history entries only: a merchant can have thousands,
# and a form with thousands of rows is both slow and over Django's POST field limit.
INLINE_HISTORY_LIMIT = 50


class SalesHistoryInline(admin.TabularInline):
    model = SalesHistoryEntry
    formset = BoundedHistoryFormSet
    fields = ("nit", "amount", "date", "emc")
    extra = 0
    verbose_name = _("sales history entry")
    verbose_name_plural = _("sales history (most recent entries)")


def _with_history_panel(fieldsets):
    """The users page's fieldsets, the history panel beside the audit trail's."""
    return tuple(
        (
            _("Sales history and audit trail"),
            {**options, "fields": ("history_summary", *options["fields"])},
        )
        if "recent_audit" in options["fields"]
        else (name, options)
        for name, options in fieldsets
    )


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(users_admin.UserAdmin):
    """The user page plus the sales history: a summary panel and the most recent entries."""

    readonly_fields = (*users_admin.UserAdmin.readonly_fields, "history_summary")
    inlines = (*users_admin.UserAdmin.inlines, SalesHistoryInline)
    fieldsets = _with_history_panel(users_admin.UserAdmin.fieldsets)

    @admin.display(description=_("sales history"))
    def history_summary(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        count = SalesHistoryEntry.objects.filter(user=obj).count()
        url = reverse("admin:sales_saleshistoryentry_changelist") + f"?user__exact={obj.pk}"
        return format_html(
            '{} <a href="{}">{}</a>',
            _("%(count)s entries; the %(limit)s most recent are editable below.")
            % {"count": count, "limit": INLINE_HISTORY_LIMIT},
            url,
            _("See the whole history"),
        )

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, SalesHistoryInline) and obj is not None and obj.pk is not None:
            recent_ids = list(
                SalesHistoryEntry.objects.filter(user=obj)
                .order_by("-date", "-id")
                .values_list("pk", flat=True)[:INLINE_HISTORY_LIMIT]
            )
            kwargs["queryset"] = (
                kwargs["queryset"].filter(pk__in=recent_ids).order_by("-date", "-id")
            )
        return kwargs

    def save_formset(self, request, form, formset, change):
        if formset.model is not SalesHistoryEntry:
            return super().save_formset(request, form, formset, change)
        saved = formset.save(commit=False)
        history_entries_edit(
            user=form.instance,
            saved=saved,
            deleted=formset.deleted_objects,
            actor=request.user,
            source=AuditEntry.Source.ADMIN,
        )
