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

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db import models
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from common.paginators import EstimatedCountPaginator
from sales import admin_views
from sales.drilldown import DrillDownQuerySet
from sales.models import Document, DocumentType, SalesHistoryEntry
from users.models import AuditEntry, User
from users.services import audit_record

admin.site.site_header = _("Salesdesk back office")
admin.site.site_title = _("Salesdesk")
admin.site.index_title = _("Back office")


def username_user_ids(term: str) -> list[int]:
    """Ids of the users whose username is ``term`` (case-insensitive): one small query.

    Searching related rows by ``user_id IN (...)`` uses their index; a join comparing
    ``UPPER(username)`` on every row of a million-row table would not.
    """
    return list(User.objects.filter(username__iexact=term).values_list("pk", flat=True)[:20])


# How many protected objects the "cannot delete" page lists before it summarises the rest.
PROTECTED_SAMPLE_SIZE = 10


class ProtectedDeleteMixin:
    """Refuse, cheaply, to delete what fiscal documents (or users) still point at.

    Django's admin already refuses (``on_delete=PROTECT``) and shows its "Cannot delete"
    page, but to do so it loads every protecting row: an office that 20,000 documents
    point at would render 20,000 links. This finds the protecting rows with one small
    query per PROTECT relation, lists the first few and counts the rest, and returns them
    the way ``get_deleted_objects`` does, so the delete view and the "delete selected"
    action show the same page and delete nothing. Objects nobody protects go through
    Django's usual collector (cascades, permissions, indirect protection).
    """

    def get_deleted_objects(self, objs, request):
        protected = self.protected_related_objects(objs)
        if protected:
            return [], {}, set(), protected
        return super().get_deleted_objects(objs, request)

    def protected_related_objects(self, objs) -> list:
        protected: list = []
        # include_hidden: Document.document_type and reference_document have related_name="+",
        # which hides them from ``_meta.related_objects`` but not from the delete collector.
        relations = (
            field
            for field in self.model._meta.get_fields(include_hidden=True)
            if field.auto_created and not field.concrete and (field.one_to_many or field.one_to_one)
        )
        for rel in relations:
            if rel.on_delete is not models.PROTECT:
                continue
            related = rel.related_model
            queryset = related._base_manager.filter(**{f"{rel.field.name}__in": objs})
            # No ORDER BY: sorting on the primary key could make PostgreSQL walk the whole
            # table for a rare value instead of using the foreign key's index.
            sample = list(queryset.order_by()[: PROTECTED_SAMPLE_SIZE + 1])
            if not sample:
                continue
            protected.extend(self._protected_link(obj) for obj in sample[:PROTECTED_SAMPLE_SIZE])
            if len(sample) > PROTECTED_SAMPLE_SIZE:
                rest = queryset.count() - PROTECTED_SAMPLE_SIZE
                protected.append(
                    _("… and %(count)s more: %(name)s")
                    % {"count": rest, "name": related._meta.verbose_name_plural}
                )
        return protected

    def _protected_link(self, obj):
        opts = obj._meta
        label = capfirst(opts.verbose_name)
        try:
            url = reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                args=(quote(obj.pk),),
            )
        except NoReverseMatch:
            return f"{label}: {obj}"
        return format_html('{}: <a href="{}">{}</a>', label, url, obj)


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
    list_display = (
        "id",
        "number",
        "document_type",
        "emission_date",
        "office",
        "user",
        "net_amount",
        "tax_amount",
        "total_amount",
        "state",
    )
    list_display_links = ("id", "number")
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
            return queryset.filter(number=int(term)), False
        return queryset.filter(user_id__in=username_user_ids(term)), False


def history_entry_json(nit: str, amount, when, emc: str) -> dict[str, str]:
    """One history entry as the audit trail stores it (the shape ``sales.services`` uses)."""
    return {
        "nit": nit,
        "monto": str(amount),
        "fecha": timezone.localtime(when).isoformat() if when is not None else None,
        "emc": emc,
    }


def audit_history(*, user, actor, before: list, after: list) -> None:
    """One audit entry for admin changes to a user's history; nothing when nothing changed."""
    if before or after:
        audit_record(
            user=user,
            actor=actor,
            source=AuditEntry.Source.ADMIN,
            field=AuditEntry.Field.HISTORY,
            before=before,
            after=after,
        )


@admin.register(SalesHistoryEntry)
class SalesHistoryEntryAdmin(admin.ModelAdmin):
    """The whole sales history; every change made here lands in the audit trail."""

    list_display = ("id", "user", "emc", "nit", "amount", "date", "updated_at")
    list_display_links = ("id", "emc")
    list_select_related = ("user",)
    # Exact matches (case-insensitive) only: a LIKE '%...%' over every entry is too slow
    # at millions of rows (see get_search_results).
    search_fields = ("=emc", "=nit", "=user__username")
    search_help_text = _("Exact EMC name, NIT or username.")
    autocomplete_fields = ("user",)
    fields = ("user", "nit", "amount", "date", "emc", "created_at", "updated_at")
    readonly_fields = ("created_at", "updated_at")
    ordering = ("-id",)
    show_full_result_count = False

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

    def save_model(self, request, obj, form, change):
        before = []
        if change and form.has_changed():
            initial = form.initial
            old_user_id = initial.get("user")
            if old_user_id is not None and old_user_id != obj.user_id:
                # Moved to another user: a deletion from the old user's history.
                old_user = User.objects.filter(pk=old_user_id).first()
                if old_user is not None:
                    audit_history(
                        user=old_user,
                        actor=request.user,
                        before=[
                            history_entry_json(
                                initial["nit"], initial["amount"], initial["date"], initial["emc"]
                            )
                        ],
                        after=[],
                    )
            else:
                before = [
                    history_entry_json(
                        initial["nit"], initial["amount"], initial["date"], initial["emc"]
                    )
                ]
        super().save_model(request, obj, form, change)
        if not change or form.has_changed():
            audit_history(
                user=obj.user,
                actor=request.user,
                before=before,
                after=[history_entry_json(obj.nit, obj.amount, obj.date, obj.emc)],
            )

    def delete_model(self, request, obj):
        user = obj.user
        entry = history_entry_json(obj.nit, obj.amount, obj.date, obj.emc)
        super().delete_model(request, obj)
        audit_history(user=user, actor=request.user, before=[entry], after=[])

    def delete_queryset(self, request, queryset):
        by_user: dict[int, list] = {}
        users = {}
        for entry in queryset.select_related("user"):
            users[entry.user_id] = entry.user
            by_user.setdefault(entry.user_id, []).append(
                history_entry_json(entry.nit, entry.amount, entry.date, entry.emc)
            )
        super().delete_queryset(request, queryset)
        for user_id, entries in by_user.items():
            audit_history(user=users[user_id], actor=request.user, before=entries, after=[])
