"""Admin parts any app's admin may use."""

from __future__ import annotations

from django.contrib.admin.utils import quote
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

# How many protected objects the "cannot delete" page lists before it summarises the rest.
PROTECTED_SAMPLE_SIZE = 10


class ProtectedDeleteMixin:
    """Refuse cheaply to delete what rows still point at (``PROTECT``): the first few per
    relation and a count, not Django's page loading every protecting row."""

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
            # No ORDER BY: it could make PostgreSQL walk the pk instead of the FK's index.
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
