import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common import auth_cache
from common.money import MoneyField
from users.permissions import SALES_HISTORY_CODENAME


class UserQuerySet(models.QuerySet):
    def update(self, **kwargs) -> int:
        # An UPDATE sends no signal, and it may deactivate accounts: every cached
        # authentication entry goes stale (common.auth_cache). bulk_update() calls this too.
        rows = super().update(**kwargs)
        auth_cache.invalidate()
        return rows

    update.alters_data = True


class UserManager(DjangoUserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    """A Bsale seller and, at the same time, a Leancore merchant profile.

    ``id`` is the Bsale id; ``uuid`` is the Leancore ``user_id``. Bsale's ``state`` is
    derived from ``is_active`` (0 active, 1 inactive).
    """

    uuid = models.UUIDField(_("UUID"), unique=True, default=uuid.uuid4, editable=False)
    office = models.ForeignKey(
        "offices.Office",
        verbose_name=_("office"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    # Leancore profile
    image = models.URLField(_("image"), max_length=500, blank=True, default="")
    business_name = models.CharField(_("business name"), max_length=200, blank=True, default="")
    quota = MoneyField(
        _("quota"), default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    status = models.CharField(_("status"), max_length=100, blank=True, default="")
    phone = models.CharField(_("phone"), max_length=32, blank=True, default="", db_index=True)
    nit = models.CharField(_("NIT"), max_length=32, blank=True, default="", db_index=True)
    address = models.CharField(_("address"), max_length=255, blank=True, default="")
    score = models.FloatField(_("score"), null=True, blank=True)
    payment_data = models.JSONField(_("payment data"), default=dict, blank=True)
    apn_token = models.CharField(_("APN token"), max_length=255, blank=True, default="")
    ecosystem = models.CharField(_("ecosystem"), max_length=100, blank=True, default="")
    business_entity = models.CharField(_("business entity"), max_length=100, blank=True, default="")
    additional_data = models.JSONField(_("additional data"), default=dict, blank=True)

    objects = UserManager()

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["id"]
        permissions = [(SALES_HISTORY_CODENAME, _("Can update users' sales history"))]
        # The admin's searches match a username whatever its case (``username__iexact``,
        # i.e. UPPER(username) = UPPER(term)): without this, a scan of every user.
        indexes = [models.Index(Upper("username"), name="user_username_upper_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quota__gte=0), name="user_quota_non_negative"
            ),
        ]

    @property
    def state(self) -> int:
        return 0 if self.is_active else 1

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class AuditEntry(models.Model):
    """One change to a user's quota or sales history: who, when, how, before and after.

    Kept when the user or the actor is deleted (SET_NULL plus a text copy), because an
    audit trail that disappears with its subject is no audit trail.
    """

    class Source(models.TextChoices):
        API = "api", _("API")
        ADMIN = "admin", _("Admin")
        COMMAND = "command", _("Command")

    class Field(models.TextChoices):
        QUOTA = "quota", _("Quota")
        HISTORY = "history", _("Sales history")

    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="audit_entries",
    )
    user_repr = models.CharField(_("user (as it was)"), max_length=200, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_repr = models.CharField(_("changed by (as it was)"), max_length=200, default="")
    source = models.CharField(_("how"), max_length=10, choices=Source.choices)
    field = models.CharField(_("what"), max_length=10, choices=Field.choices)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="audit_user_created_idx")]

    def __str__(self) -> str:
        # In TIME_ZONE, as the admin shows the entry's time on its page (one zone, not UTC).
        when = (
            timezone.localtime(self.created_at).strftime("%Y-%m-%d %H:%M")
            if self.created_at
            else ""
        )
        return f"{self.get_field_display()} · {self.user_repr} · {when}"
