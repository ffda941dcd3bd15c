"""Back-office pages beyond the model admins: the sales summary (with its chart and CSV),
the admin index's sales dashboard, and the sales-history import.

The summary's numbers come from ``sales.selectors.sales_summary``, the function behind
``/v1/users/sales_summary.json`` and the ``sales_summary`` command: one aggregate query,
so the three always agree. The import checks lines with ``sales.history_import`` and
writes with ``sales.services.sales_history_update``, like ``import_sales_history``.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePath

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from common.csv_export import SafeCsvWriter
from common.errors import InvalidInput
from offices.models import Office
from sales.charts import Bar, horizontal_bar_chart
from sales.history_import import (
    FORMATS,
    HistoryFileError,
    LineError,
    ValidatedUpload,
    discard_upload,
    load_upload,
    store_upload,
    translate_message,
    validate_upload,
)
from sales.models import Document, SalesHistoryEntry
from sales.permissions import VIEW_DOCUMENT
from sales.selectors import SalesSummary, SellerSummary, sales_summary
from sales.services import sales_history_preview, sales_history_update
from users.models import AuditEntry, User
from users.permissions import CHANGE_SALES_HISTORY, VIEW_USER

SUMMARY_PERMISSION = VIEW_DOCUMENT
IMPORT_PERMISSION = CHANGE_SALES_HISTORY
CHART_TOP = 15  # bars in the summary's chart: the sellers with the highest subtotals
DASHBOARD_TOP = 5
SUMMARY_PAGE_SIZE = 100  # table rows per page (the CSV has them all)
MAX_ERRORS_SHOWN = 500
PREVIEW_ROWS = 20


def money(value: Decimal) -> str:
    """An amount for people, in the active language's format (Django's): ``1 234 567,89``
    in Spanish (no-break spaces), ``1,234,567.89`` in English."""
    return number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)


def month_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _top_by_subtotal(summary: SalesSummary, count: int) -> list[SellerSummary]:
    ranked = sorted(summary.sellers, key=lambda s: (-s.subtotal, s.full_name.casefold(), s.user_id))
    return ranked[:count]


def _seller_label(seller: SellerSummary) -> str:
    return seller.full_name or gettext("User %(id)s") % {"id": seller.user_id}


def _chart(sellers: list[SellerSummary], title: str):
    return horizontal_bar_chart(
        [Bar(_seller_label(s), s.subtotal, key=str(s.user_id)) for s in sellers],
        title=title,
        value_format=money,
        css_class="sales-chart",
    )


# --- Sales summary ------------------------------------------------------------------------


class SalesSummaryForm(forms.Form):
    start = forms.DateField(
        label=_("From"),
        widget=forms.DateInput(attrs={"type": "date", "required": True}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        label=_("To"),
        widget=forms.DateInput(attrs={"type": "date", "required": True}, format="%Y-%m-%d"),
    )
    office = forms.ModelChoiceField(
        label=_("Office"),
        queryset=Office.objects.order_by("name", "id").only("id", "name"),
        required=False,
        empty_label=_("All offices"),
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", _("The end date must not be before the start date."))
        return data


@dataclass(frozen=True)
class SummaryTotals:
    sales: Decimal
    returns: Decimal
    subtotal: Decimal
    tax: Decimal

    @classmethod
    def of(cls, summary: SalesSummary) -> SummaryTotals:
        zero = Decimal("0.00")
        return cls(
            sales=sum((s.sales for s in summary.sellers), zero),
            returns=sum((s.returns for s in summary.sellers), zero),
            subtotal=summary.total,
            tax=summary.tax_total,
        )


def _presets(request) -> list[tuple[str, str]]:
    """Quick ranges (today, this month, last month, this year), keeping the office."""
    today = timezone.localdate()
    this_month = month_bounds(today)
    last_month = month_bounds(this_month[0] - dt.timedelta(days=1))
    ranges = [
        (gettext("Today"), (today, today)),
        (gettext("This month"), this_month),
        (gettext("Last month"), last_month),
        (gettext("This year"), (today.replace(month=1, day=1), today.replace(month=12, day=31))),
    ]
    office = request.GET.get("office", "")
    presets = []
    for label, (start, end) in ranges:
        query = QueryDict(mutable=True)
        query.update({"start": start.isoformat(), "end": end.isoformat()})
        if office:
            query["office"] = office
        presets.append((label, f"?{query.urlencode()}"))
    return presets


def _summary_form(request) -> SalesSummaryForm:
    first, last = month_bounds(timezone.localdate())
    data = {
        "start": request.GET.get("start", first.isoformat()),
        "end": request.GET.get("end", last.isoformat()),
        "office": request.GET.get("office", ""),
    }
    return SalesSummaryForm(data)


def sales_summary_view(model_admin, request):
    """The per-seller summary for a date range (default: this month) and an office."""
    if not request.user.has_perm(SUMMARY_PERMISSION):
        raise PermissionDenied
    form = _summary_form(request)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Document._meta,
        "title": _("Sales summary"),
        "form": form,
        "chart_top": CHART_TOP,
        "presets": _presets(request),
    }
    if form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        office = form.cleaned_data["office"]
        summary = sales_summary(start=start, end=end, office_id=office.pk if office else None)
        if request.GET.get("export") == "csv":
            return sales_summary_csv(summary, office)
        top = _top_by_subtotal(summary, CHART_TOP)
        # Links keep exactly what is shown (not the defaults, which change with the month).
        shown = QueryDict(mutable=True)
        shown.update({"start": start.isoformat(), "end": end.isoformat()})
        if office is not None:
            shown["office"] = str(office.pk)
        page = Paginator(summary.sellers, SUMMARY_PAGE_SIZE).get_page(request.GET.get("p"))
        context.update(
            summary=summary,
            office=office,
            totals=SummaryTotals.of(summary),
            page_obj=page,
            page_query=shown.urlencode(),
            period=gettext("%(start)s to %(end)s")
            % {"start": date_format(start), "end": date_format(end)},
            chart=_chart(top, gettext("Subtotal per seller")) if top else None,
            chart_is_partial=len(summary.sellers) > len(top),
            seller_count=len(summary.sellers),
            csv_url=f"?{shown.urlencode()}&export=csv",
            can_view_users=request.user.has_perm(VIEW_USER),
            amounts_include_tax=settings.SALES_SUMMARY_SUBTOTAL != "net",
        )
    return TemplateResponse(request, "admin/sales/sales_summary.html", context)


def sales_summary_csv(summary: SalesSummary, office: Office | None) -> HttpResponse:
    """The table as CSV: plain numbers (dot decimals), a total row, UTF-8 with a BOM."""
    name = f"sales-summary-{summary.start.isoformat()}-{summary.end.isoformat()}"
    if office is not None:
        name += f"-office-{office.pk}"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response.write("\ufeff")  # spreadsheets then read accents right
    writer = SafeCsvWriter(response, lineterminator="\r\n")
    writer.writerow(
        [
            gettext("Seller ID"),
            gettext("Seller"),
            gettext("Sales"),
            gettext("Returns"),
            gettext("Subtotal"),
            gettext("Tax"),
        ]
    )
    for s in summary.sellers:
        writer.writerow([s.user_id, s.full_name, s.sales, s.returns, s.subtotal, s.tax_subtotal])
    totals = SummaryTotals.of(summary)
    writer.writerow(
        ["", gettext("Total"), totals.sales, totals.returns, totals.subtotal, totals.tax]
    )
    return response


# --- Admin index dashboard ----------------------------------------------------------------


def dashboard_context(user) -> dict:
    """Today's and this month's totals and the month's best sellers: two aggregate queries."""
    if not user.has_perm(SUMMARY_PERMISSION):
        return {"show": False}
    today = timezone.localdate()
    first, last = month_bounds(today)
    today_summary = sales_summary(start=today, end=today)
    month_summary = sales_summary(start=first, end=last)
    top = _top_by_subtotal(month_summary, DASHBOARD_TOP)
    return {
        "show": True,
        "today": today,
        "today_summary": today_summary,
        "month_summary": month_summary,
        "month_label": date_format(today, "YEAR_MONTH_FORMAT"),
        "top": [{"seller": s, "label": _seller_label(s), "subtotal": s.subtotal} for s in top],
        "summary_url": reverse("admin:sales_document_summary")
        + f"?start={first.isoformat()}&end={last.isoformat()}",
        "today_url": reverse("admin:sales_document_summary")
        + f"?start={today.isoformat()}&end={today.isoformat()}",
    }


# --- Sales history import -----------------------------------------------------------------


class HistoryImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "CSV with a header row user_id,nit,monto,fecha,emc (or JSON Lines with those keys). "
            "user_id is the user's UUID; fecha an ISO 8601 date or date and time."
        ),
    )
    replace = forms.BooleanField(
        label=_("Replace"),
        required=False,
        help_text=_(
            "Each user in the file gets exactly the file's entries: their other entries are "
            "deleted. Without it, entries are added or updated and nothing is deleted."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        fmt = FORMATS.get(PurePath(upload.name or "").suffix.lower())
        if fmt is None:
            raise forms.ValidationError(_("Upload a .csv, .jsonl or .ndjson file."))
        self.fmt = fmt
        return upload


def _import_context(model_admin, request, **extra) -> dict:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": SalesHistoryEntry._meta,
        "title": _("Import sales history"),
        "max_errors": MAX_ERRORS_SHOWN,
        **extra,
    }


def _errors_context(errors: list[LineError]) -> dict:
    return {
        "line_errors": [
            {"line": e.line, "message": e.translated()} for e in errors[:MAX_ERRORS_SHOWN]
        ],
        "error_count": len(errors),
        "more_errors": max(0, len(errors) - MAX_ERRORS_SHOWN),
    }


def _preview(validated: ValidatedUpload, replace: bool) -> dict:
    """What the import would do, per user and in all (read-only, one query per user)."""
    totals = {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0}
    per_user = []
    for user, entries in validated.by_user():
        counts = sales_history_preview(user=user.as_user(), entries=entries, replace=replace)
        for key, value in counts.items():
            totals[key] += value
        per_user.append({"user": user, "entries": len(entries), **counts})
    sample = [
        {"user": user, "entry": entry}
        for user, entries in validated.by_user()
        for entry in entries[:PREVIEW_ROWS]
    ][:PREVIEW_ROWS]
    return {"totals": totals, "per_user": per_user[:PREVIEW_ROWS], "sample": sample}


def history_import_view(model_admin, request):
    """Upload, see every bad line or a preview, confirm: nothing is written before that."""
    if not request.user.has_perm(IMPORT_PERMISSION):
        raise PermissionDenied
    changelist_url = reverse("admin:sales_saleshistoryentry_changelist")
    if request.method == "POST" and "token" in request.POST:
        return _confirm(model_admin, request, request.POST["token"], changelist_url)

    is_post = request.method == "POST"
    form = HistoryImportForm(request.POST, request.FILES) if is_post else HistoryImportForm()
    context = _import_context(model_admin, request, form=form)
    if is_post and form.is_valid():
        upload = form.cleaned_data["file"]
        replace = form.cleaned_data["replace"]
        data = upload.read()
        try:
            validated = validate_upload(data, form.fmt)
        except HistoryFileError as exc:
            context["file_error"] = translate_message(str(exc))
            return TemplateResponse(request, "admin/sales/history_import.html", context)
        if validated.errors:
            context.update(_errors_context(validated.errors), file_name=upload.name)
        elif not validated.entry_count:
            context["file_error"] = gettext("The file has no entries.")
        else:
            try:
                preview = _preview(validated, replace)
            except InvalidInput as exc:  # e.g. a user's history would pass its bound
                context["file_error"] = translate_message(str(exc))
                return TemplateResponse(request, "admin/sales/history_import.html", context)
            token = store_upload(
                request.session,
                owner=request.user,
                data=data,
                name=upload.name,
                fmt=form.fmt,
                replace=replace,
            )
            context.update(
                token=token,
                file_name=upload.name,
                replace=replace,
                lines=validated.lines,
                entry_count=validated.entry_count,
                user_count=len(validated.users),
                **preview,
            )
    return TemplateResponse(request, "admin/sales/history_import.html", context)


def _confirm(model_admin, request, token: str, changelist_url: str):
    if "cancel" in request.POST:
        discard_upload(request.session, token)
        messages.info(request, gettext("The import was cancelled; nothing was written."))
        return HttpResponseRedirect(request.path)
    pending = load_upload(request.session, token, owner=request.user)
    if pending is None:
        messages.error(
            request, gettext("That upload has expired or is unknown; please upload the file again.")
        )
        return HttpResponseRedirect(request.path)
    # Validated again: users may have been deleted, or the rules changed, since the preview.
    try:
        validated = validate_upload(pending.data, pending.fmt)
    except HistoryFileError as exc:  # pragma: no cover - it was readable a moment ago
        validated = ValidatedUpload(errors=[LineError(0, "", str(exc))])
    if validated.errors:
        discard_upload(request.session, token)
        context = _import_context(
            model_admin,
            request,
            form=HistoryImportForm(),
            file_name=pending.name,
            **_errors_context(validated.errors),
        )
        return TemplateResponse(request, "admin/sales/history_import.html", context)
    totals = {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0}
    try:
        with transaction.atomic():
            for user, entries in validated.by_user():
                counts = sales_history_update(
                    user=user.as_user(),
                    entries=entries,
                    replace=pending.replace,
                    actor=request.user,
                    source=AuditEntry.Source.ADMIN,
                )
                for key, value in counts.items():
                    totals[key] += value
    except User.DoesNotExist:
        messages.error(
            request, gettext("A user was deleted during the import; nothing was written.")
        )
        return HttpResponseRedirect(request.path)
    except InvalidInput as exc:  # a history past its bound (duplicates were refused before)
        messages.error(request, translate_message(str(exc)))
        return HttpResponseRedirect(request.path)
    discard_upload(request.session, token)
    users = len(validated.users)
    messages.success(
        request,
        ngettext(
            "Sales history imported for %(users)s user: %(created)s created, %(updated)s "
            "updated, %(deleted)s deleted, %(unchanged)s unchanged.",
            "Sales history imported for %(users)s users: %(created)s created, %(updated)s "
            "updated, %(deleted)s deleted, %(unchanged)s unchanged.",
            users,
        )
        % {"users": users, **totals},
    )
    return HttpResponseRedirect(changelist_url)
