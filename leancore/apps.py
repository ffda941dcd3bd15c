from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeancoreConfig(AppConfig):
    """Leancore's methods: on top of users and sales; nothing imports it."""

    name = "leancore"
    verbose_name = _("Leancore")
