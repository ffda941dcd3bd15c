from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SyncRun(models.Model):
    """One run of the Bsale sync: who started it, how it went, what it changed.

    At most one run is ``running`` at a time, on every host: a partial unique index on
    the status is the lock (it works the same on SQLite and PostgreSQL). A run whose
    ``heartbeat_at`` is older than ``BSALE_SYNC_STALE_SECONDS`` died (killed host) and
    is marked ``failed`` by the next run, which then takes the lock.
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        COMMAND = "command", _("Command")
        ADMIN = "admin", _("Admin")
        WEBHOOK = "webhook", _("Webhook")
        SCHEDULE = "schedule", _("Schedule")

    started_at = models.DateTimeField(_("started"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of life"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    trigger = models.CharField(
        _("trigger"), max_length=10, choices=Trigger.choices, default=Trigger.COMMAND
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    source_url = models.CharField(_("Bsale URL"), max_length=500, blank=True, default="")
    options = models.JSONField(_("options"), default=dict, blank=True)
    # {"offices": {"created": 1, "updated": 0, "unchanged": 9}, ...}
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    requests = models.PositiveIntegerField(_("requests"), default=0)
    errors = models.TextField(_("errors"), blank=True, default="")

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        ordering = ["-started_at", "-id"]
        permissions = [("run_sync", _("Can start a Bsale sync"))]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="running"),
                name="syncrun_one_running",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} · {self.get_status_display()}"


class SyncCheckpoint(models.Model):
    """Where the documents walk stands, saved with each page it upserts.

    ``synced_until``: every document emitted up to this day has been read (the next
    incremental run starts ``BSALE_RECHECK_DAYS`` before it). ``window_start`` /
    ``window_end`` / ``next_offset``: the window in flight, so a crashed run resumes at
    the page it lost.
    """

    resource = models.CharField(_("resource"), max_length=50, unique=True)
    source_url = models.CharField(_("Bsale URL"), max_length=500, blank=True, default="")
    synced_until = models.DateField(_("synced until"), null=True, blank=True)
    window_start = models.DateField(null=True, blank=True)
    window_end = models.DateField(null=True, blank=True)
    next_offset = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("sync checkpoint")
        verbose_name_plural = _("sync checkpoints")

    def __str__(self) -> str:
        return f"{self.resource}: {self.synced_until}"
