from django.db import models
from django.utils.translation import gettext_lazy as _


class State(models.IntegerChoices):
    """Bsale's state flag, shared by offices, document types and documents."""

    ACTIVE = 0, _("Active")
    INACTIVE = 1, _("Inactive")


class Office(models.Model):
    """A branch (Bsale "sucursal"). Coordinates stay strings, as Bsale sends them."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True, default="")
    address = models.CharField(_("address"), max_length=255, blank=True, default="")
    latitude = models.CharField(_("latitude"), max_length=32, blank=True, default="")
    longitude = models.CharField(_("longitude"), max_length=32, blank=True, default="")
    is_virtual = models.BooleanField(_("virtual"), default=False)
    country = models.CharField(_("country"), max_length=100, blank=True, default="")
    municipality = models.CharField(_("municipality"), max_length=100, blank=True, default="")
    city = models.CharField(_("city"), max_length=100, blank=True, default="")
    zip_code = models.CharField(_("zip code"), max_length=20, blank=True, default="")
    cost_center = models.CharField(_("cost center"), max_length=50, blank=True, default="")
    state = models.PositiveSmallIntegerField(
        _("state"), choices=State.choices, default=State.ACTIVE
    )

    class Meta:
        verbose_name = _("office")
        verbose_name_plural = _("offices")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(state__in=[0, 1]), name="office_state_valid"),
        ]

    def __str__(self) -> str:
        return self.name
