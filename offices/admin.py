"""Back office for offices (Bsale "sucursales")."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from common.admin import ProtectedDeleteMixin
from offices.models import Office


@admin.register(Office)
class OfficeAdmin(ProtectedDeleteMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "name",
        "city",
        "municipality",
        "country",
        "cost_center",
        "is_virtual",
        "state",
    )
    list_display_links = ("id", "name")
    list_filter = ("state", "is_virtual", "country", "city")
    search_fields = ("name", "city", "municipality", "address", "cost_center")
    search_help_text = _("Name, city, municipality, address or cost center.")
    ordering = ("id",)
    fieldsets = (
        (None, {"fields": ("name", "description", "state", "is_virtual", "cost_center")}),
        (
            _("Location"),
            {
                "fields": (
                    "address",
                    "city",
                    "municipality",
                    "country",
                    "zip_code",
                    "latitude",
                    "longitude",
                )
            },
        ),
    )
