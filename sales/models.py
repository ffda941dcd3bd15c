from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.money import MoneyField
from offices.models import State


class DocumentUse(models.IntegerChoices):
    """Bsale's meaning of a document type's ``use``."""

    SALE = 0, _("Sale")
    RETURN = 1, _("Return")
    DISPATCH = 2, _("Dispatch")
    SETTLEMENT = 3, _("Settlement")


class DocumentType(models.Model):
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("tax authority code"), max_length=20, blank=True, default="")
    use = models.PositiveSmallIntegerField(
        _("use"), choices=DocumentUse.choices, default=DocumentUse.SALE
    )
    is_electronic = models.BooleanField(_("electronic"), default=True)
    state = models.PositiveSmallIntegerField(
        _("state"), choices=State.choices, default=State.ACTIVE
    )

    class Meta:
        verbose_name = _("document type")
        verbose_name_plural = _("document types")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(use__in=[0, 1, 2, 3]), name="doctype_use_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=[0, 1]), name="doctype_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_credit_note(self) -> bool:
        return self.use == DocumentUse.RETURN


class Document(models.Model):
    """A fiscal document. Void documents (state 1) count nowhere."""

    document_type = models.ForeignKey(
        DocumentType, verbose_name=_("document type"), on_delete=models.PROTECT, related_name="+"
    )
    number = models.BigIntegerField(_("number"))
    emission_date = models.DateField(_("emission date"))
    expiration_date = models.DateField(_("expiration date"), null=True, blank=True)
    generation_date = models.DateTimeField(_("generation date"), default=timezone.now)
    office = models.ForeignKey(
        "offices.Office",
        verbose_name=_("office"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("seller"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
    )
    net_amount = MoneyField(_("net amount"), default=Decimal("0"))
    tax_amount = MoneyField(_("tax amount"), default=Decimal("0"))
    exempt_amount = MoneyField(_("exempt amount"), default=Decimal("0"))
    total_amount = MoneyField(_("total amount"), default=Decimal("0"))
    state = models.PositiveSmallIntegerField(
        _("state"), choices=State.choices, default=State.ACTIVE
    )
    reference_document = models.ForeignKey(
        "self",
        verbose_name=_("reference document"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["document_type", "number"], name="document_unique_number_per_type"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=[0, 1]), name="document_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(net_amount__gte=0)
                & models.Q(tax_amount__gte=0)
                & models.Q(exempt_amount__gte=0)
                & models.Q(total_amount__gte=0),
                name="document_amounts_non_negative",
            ),
        ]
        indexes = [
            # The sales summary and emissiondate filters: range scans on the date.
            models.Index(fields=["emission_date"], name="document_emission_idx"),
            # A seller's sales/returns in a date range.
            models.Index(fields=["user", "emission_date"], name="document_user_emission_idx"),
            # Void documents (2% of them): the admin's state filter counts and pages them
            # from this small index instead of scanning every document.
            models.Index(fields=["id"], condition=models.Q(state=1), name="document_void_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.document_type_id}-{self.number}"


class SalesHistoryEntry(models.Model):
    """One purchase of a Leancore merchant from a mass consumption company (EMC)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="history",
    )
    nit = models.CharField(_("NIT"), max_length=32)
    amount = MoneyField(_("amount"), validators=[MinValueValidator(Decimal("0"))])
    date = models.DateTimeField(_("date"))
    emc = models.CharField(_("EMC"), max_length=200)
    # default= rather than auto_now*: loaddata saves raw rows and would leave them NULL.
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("sales history entry")
        verbose_name_plural = _("sales history")
        ordering = ["date", "nit", "emc"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "nit", "date", "emc"], name="history_unique_entry"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="history_amount_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.emc} {self.nit} {self.date:%Y-%m-%d}"

    def save(self, *args, **kwargs):
        self.updated_at = timezone.now()
        super().save(*args, **kwargs)


class PendingHistoryImport(models.Model):
    """An admin's validated history upload between its preview and its confirmation.

    In the database rather than on the web host's disk: the confirmation may reach another
    host than the preview did (docs/deployment.md). Only the uploader's session knows the
    token; rows past ``expires_at`` are deleted whenever a new upload is stored.
    """

    token = models.CharField(
        _("confirmation token"), primary_key=True, max_length=32, editable=False
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="+",
        editable=False,
    )
    name = models.CharField(_("file name"), max_length=200)
    fmt = models.CharField(_("format"), max_length=8)
    replace = models.BooleanField(_("replace"), default=False)
    content = models.BinaryField(_("content"))
    sha256 = models.CharField(_("content digest"), max_length=64)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), db_index=True)

    class Meta:
        verbose_name = _("pending history import")
        verbose_name_plural = _("pending history imports")
        default_permissions = ()  # nobody edits these: the import page manages them

    def __str__(self) -> str:
        return self.name


class SalesTotal(models.Model):
    """Sums of the counted documents (state 0, with a seller) per seller, office and type.

    Kept by database triggers on ``sales_document`` (sales/totals_sql.py), in the same
    transaction as every write, whatever door it came through. Amounts are integer cents:
    exact on SQLite too, whose numerics are floats. ``office_id`` 0 is "no office" (a
    unique key with NULL would never conflict). Rows whose count reaches 0 are deleted.
    """

    seller_id = models.BigIntegerField(_("seller"))
    office_id = models.BigIntegerField(_("office"))
    document_type_id = models.BigIntegerField(_("document type"))
    total_cents = models.BigIntegerField(_("total (cents)"), default=0)
    net_cents = models.BigIntegerField(_("net (cents)"), default=0)
    tax_cents = models.BigIntegerField(_("tax (cents)"), default=0)
    exempt_cents = models.BigIntegerField(_("exempt (cents)"), default=0)
    documents = models.BigIntegerField(_("documents"), default=0)

    class Meta:
        abstract = True


class SalesDailyTotal(SalesTotal):
    day = models.DateField(_("day"))

    class Meta:
        verbose_name = _("daily sales total")
        verbose_name_plural = _("daily sales totals")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "seller_id", "office_id", "document_type_id"],
                name="sales_daily_total_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} seller {self.seller_id} type {self.document_type_id}"


class SalesMonthlyTotal(SalesTotal):
    month = models.DateField(_("month"), help_text=_("The first day of the month."))

    class Meta:
        verbose_name = _("monthly sales total")
        verbose_name_plural = _("monthly sales totals")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "seller_id", "office_id", "document_type_id"],
                name="sales_monthly_total_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} seller {self.seller_id} type {self.document_type_id}"


class SellerSalesTotal(models.Model):
    """A seller's counted sales and returns (all offices and types together): what the
    unfiltered sales summary reads, one row per seller and period instead of one per
    office and type.

    Kept by the same triggers as ``SalesTotal`` (sales/totals_sql.py); a document type
    whose ``use`` changes has its sellers' rows summed again from the per-type totals.
    Only documents whose type's use is sale (0) or return (1) are in them.
    """

    seller_id = models.BigIntegerField(_("seller"))
    sales_total_cents = models.BigIntegerField(_("sales total (cents)"), default=0)
    sales_net_cents = models.BigIntegerField(_("sales net (cents)"), default=0)
    sales_tax_cents = models.BigIntegerField(_("sales tax (cents)"), default=0)
    returns_total_cents = models.BigIntegerField(_("returns total (cents)"), default=0)
    returns_net_cents = models.BigIntegerField(_("returns net (cents)"), default=0)
    returns_tax_cents = models.BigIntegerField(_("returns tax (cents)"), default=0)
    documents = models.BigIntegerField(_("documents"), default=0)

    class Meta:
        abstract = True


class SellerDailySalesTotal(SellerSalesTotal):
    day = models.DateField(_("day"))

    class Meta:
        verbose_name = _("seller's daily sales total")
        verbose_name_plural = _("sellers' daily sales totals")
        constraints = [
            models.UniqueConstraint(fields=["day", "seller_id"], name="sales_seller_daily_key"),
        ]

    def __str__(self) -> str:
        return f"{self.day} seller {self.seller_id}"


class SellerMonthlySalesTotal(SellerSalesTotal):
    month = models.DateField(_("month"), help_text=_("The first day of the month."))

    class Meta:
        verbose_name = _("seller's monthly sales total")
        verbose_name_plural = _("sellers' monthly sales totals")
        constraints = [
            models.UniqueConstraint(fields=["month", "seller_id"], name="sales_seller_monthly_key"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} seller {self.seller_id}"


class SellerName(models.Model):
    """A seller's first and last name, copied from the user by database triggers
    (sales/seller_names_sql.py): the unfiltered sales summary joins its sellers to these few
    rows instead of looking each one up among all the users."""

    seller_id = models.BigIntegerField(_("seller"), primary_key=True)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("seller's name")
        verbose_name_plural = _("sellers' names")

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
