"""Template tags of the back office: the admin index's sales dashboard, money amounts."""

from django import template

from sales.admin_views import dashboard_context, money

register = template.Library()


@register.inclusion_tag("admin/sales/dashboard.html", takes_context=True)
def sales_dashboard(context):
    """Today's and this month's totals and the month's top sellers (two aggregate queries);
    nothing for staff without the ``sales.view_document`` permission."""
    request = context.get("request")
    if request is None:
        return {"show": False}
    return dashboard_context(request.user)


@register.filter
def as_money(value):
    """``1234567.8`` -> ``1 234 567,80`` in Spanish, ``1,234,567.80`` in English."""
    if value is None or value == "":
        return ""
    return money(value)
