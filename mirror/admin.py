from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from mirror.models import SyncRun
from mirror.tasks import sync_bsale


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    """The record of every sync, read-only; "Sync now" queues a run for a worker."""

    list_display = (
        "started_at",
        "finished_at",
        "status",
        "trigger",
        "started_by",
        "counts_summary",
        "requests",
        "has_errors",
    )
    list_filter = ("status", "trigger")
    list_select_related = ("started_by",)
    readonly_fields = [f.name for f in SyncRun._meta.fields]
    date_hierarchy = "started_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("created / updated / unchanged"))
    def counts_summary(self, obj):
        return format_html_join(
            ", ",
            "{}: {}/{}/{}",
            (
                (name, c.get("created", 0), c.get("updated", 0), c.get("unchanged", 0))
                for name, c in (obj.counts or {}).items()
            ),
        )

    @admin.display(boolean=True, description=_("errors"))
    def has_errors(self, obj):
        return bool(obj.errors)

    def get_urls(self):
        view = self.admin_site.admin_view(self.sync_now_view)
        return [path("sync-now/", view, name="mirror_syncrun_sync_now"), *super().get_urls()]

    def sync_now_view(self, request):
        """Queue an incremental sync (a worker runs it); needs ``mirror.run_sync``."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("mirror.run_sync"):
            raise PermissionDenied
        sync_bsale.enqueue(trigger=SyncRun.Trigger.ADMIN, started_by_id=request.user.pk)
        messages.success(
            request, _("A sync is queued; a worker runs it shortly. Its run appears here.")
        )
        return HttpResponseRedirect(reverse("admin:mirror_syncrun_changelist"))
