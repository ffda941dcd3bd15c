"""The back office's admin site: its titles, in one place (``config.apps.BackOfficeAdminConfig``)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class BackOfficeSite(admin.AdminSite):
    site_header = _("Salesdesk back office")
    site_title = _("Salesdesk")
    index_title = _("Back office")
