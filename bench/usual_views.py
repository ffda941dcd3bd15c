"""The usual approach: the same endpoints written the common way.

DRF generic views, ``ModelSerializer`` (through drf-flex-fields' ``FlexFieldsModelSerializer``
for ``fields``/``expand``), ``LimitOffsetPagination``, django-filter, simplejwt's stock
``JWTAuthentication`` and Django's model permissions (``ModelBackend``), DRF's
``JSONRenderer``. The joins follow ``expand`` (``select_related`` when flex-fields says
a relation is expanded), so there is no N+1: what remains is what this style costs.

The bodies equal the real endpoints' for the bench's requests (tests check it), hrefs
included, so the throughput comparison is like for like.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, DecimalField, F, Sum, Value, When
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.urls import path
from django_filters.rest_framework import DjangoFilterBackend
from rest_flex_fields import FlexFieldsModelSerializer, is_expanded
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import DjangoModelPermissions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework_simplejwt.authentication import JWTAuthentication

from offices.models import Office
from sales.filters import DocumentFilter
from sales.models import Document, DocumentType, DocumentUse
from users.filters import UserFilter
from users.models import User

EPOCH = dt.date(1970, 1, 1)


def _base(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _unix(day: dt.date | None) -> int | None:
    return None if day is None else (day - EPOCH).days * 86400


def _strip_brackets(raw: str | None) -> list[str]:
    if not raw:
        return []
    return [part.strip() for part in raw.strip().strip("[]").split(",") if part.strip()]


def Money(**kwargs):
    return serializers.DecimalField(
        max_digits=14, decimal_places=2, coerce_to_string=False, **kwargs
    )


class ReadPermission(DjangoModelPermissions):
    """DRF's model permissions, with GET needing the ``view`` permission."""

    perms_map = {**DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}


class Pagination(LimitOffsetPagination):
    default_limit = 25
    max_limit = 50

    def get_paginated_response(self, data):
        request = self.request
        url = _base(request) + "/v1/" + request.path.split("/v1/", 1)[1]
        query = request.GET.copy()
        query.pop("limit", None)
        query.pop("offset", None)
        encoded = query.urlencode(safe=",")
        body = {
            "href": f"{url}?{encoded}" if encoded else url,
            "count": self.count,
            "limit": self.limit,
            "offset": self.offset,
            "items": data,
        }
        if self.offset + self.limit < self.count:
            paging = f"limit={self.limit}&offset={self.offset + self.limit}"
            body["next"] = f"{url}?{paging}&{encoded}" if encoded else f"{url}?{paging}"
        return Response(body)


class UsualView(generics.GenericAPIView):
    authentication_classes = [JWTAuthentication]
    permission_classes = [ReadPermission]
    renderer_classes = [JSONRenderer]
    pagination_class = Pagination

    def get_serializer(self, *args, **kwargs):
        # Bsale writes lists in brackets (expand=[office]); flex-fields wants office,user.
        kwargs.setdefault("expand", _strip_brackets(self.request.query_params.get("expand")))
        return super().get_serializer(*args, **kwargs)


def _expanded(request, name: str) -> bool:
    raw = ",".join(_strip_brackets(request.query_params.get("expand")))
    return is_expanded(type("R", (), {"query_params": {"expand": raw}})(), name)


# --- Serializers ------------------------------------------------------------------------------


class HrefMixin(serializers.Serializer):
    href = serializers.SerializerMethodField()
    path = ""

    def get_href(self, obj) -> str:
        return f"{_base(self.context['request'])}/v1/{self.path}/{obj.pk}.json"


def _ref(request, path: str, pk) -> dict | None:
    if pk is None:
        return None
    return {"href": f"{_base(request)}/v1/{path}/{pk}.json", "id": str(pk)}


class OfficeSerializer(HrefMixin, FlexFieldsModelSerializer):
    path = "offices"
    isVirtual = serializers.SerializerMethodField()
    zipCode = serializers.CharField(source="zip_code")
    costCenter = serializers.CharField(source="cost_center")

    class Meta:
        model = Office
        fields = [
            "href",
            "id",
            "name",
            "description",
            "address",
            "latitude",
            "longitude",
            "isVirtual",
            "country",
            "municipality",
            "city",
            "zipCode",
            "costCenter",
            "state",
        ]

    def get_isVirtual(self, obj) -> int:
        return int(obj.is_virtual)


class UserSerializer(HrefMixin, FlexFieldsModelSerializer):
    path = "users"
    firstName = serializers.CharField(source="first_name")
    lastName = serializers.CharField(source="last_name")
    state = serializers.SerializerMethodField()
    office = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["href", "id", "firstName", "lastName", "email", "state", "office"]
        expandable_fields = {"office": OfficeSerializer}

    def get_state(self, obj) -> int:
        return 0 if obj.is_active else 1

    def get_office(self, obj):
        return _ref(self.context["request"], "offices", obj.office_id)


class DocumentTypeSerializer(HrefMixin, FlexFieldsModelSerializer):
    path = "document_types"
    codeSii = serializers.CharField(source="code")
    isCreditNote = serializers.SerializerMethodField()
    isElectronicDocument = serializers.SerializerMethodField()

    class Meta:
        model = DocumentType
        fields = [
            "href",
            "id",
            "name",
            "codeSii",
            "use",
            "isCreditNote",
            "isElectronicDocument",
            "state",
        ]

    def get_isCreditNote(self, obj) -> int:
        return int(obj.use == DocumentUse.RETURN)

    def get_isElectronicDocument(self, obj) -> int:
        return int(obj.is_electronic)


class DocumentSerializer(HrefMixin, FlexFieldsModelSerializer):
    path = "documents"
    emissionDate = serializers.SerializerMethodField()
    expirationDate = serializers.SerializerMethodField()
    generationDate = serializers.SerializerMethodField()
    totalAmount = Money(source="total_amount")
    netAmount = Money(source="net_amount")
    taxAmount = Money(source="tax_amount")
    exemptAmount = Money(source="exempt_amount")
    document_type = serializers.SerializerMethodField()
    office = serializers.SerializerMethodField()
    user = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "href",
            "id",
            "emissionDate",
            "expirationDate",
            "generationDate",
            "number",
            "totalAmount",
            "netAmount",
            "taxAmount",
            "exemptAmount",
            "state",
            "document_type",
            "office",
            "user",
        ]
        expandable_fields = {
            "document_type": DocumentTypeSerializer,
            "office": OfficeSerializer,
            "user": UserSerializer,
        }

    def get_emissionDate(self, obj) -> int:
        return _unix(obj.emission_date)

    def get_expirationDate(self, obj) -> int | None:
        return _unix(obj.expiration_date)

    def get_generationDate(self, obj) -> int:
        return int(obj.generation_date.timestamp())

    def get_document_type(self, obj):
        return _ref(self.context["request"], "document_types", obj.document_type_id)

    def get_office(self, obj):
        return _ref(self.context["request"], "offices", obj.office_id)

    def get_user(self, obj):
        return _ref(self.context["request"], "users", obj.user_id)


class SellerDocumentSerializer(HrefMixin, serializers.ModelSerializer):
    path = "documents"
    name = serializers.CharField(source="document_type.name")

    class Meta:
        model = Document
        fields = ["href", "id", "name", "number"]


# --- Views --------------------------------------------------------------------------------------


class UserList(UsualView, generics.ListAPIView):
    serializer_class = UserSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = UserFilter

    def get_queryset(self):
        queryset = User.objects.order_by("id")
        if _expanded(self.request, "office"):
            queryset = queryset.select_related("office")
        return queryset


class UserDetail(UsualView, generics.RetrieveAPIView):
    serializer_class = UserSerializer

    def get_queryset(self):
        queryset = User.objects.all()
        if _expanded(self.request, "office"):
            queryset = queryset.select_related("office")
        return queryset


class DocumentList(UsualView, generics.ListAPIView):
    serializer_class = DocumentSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = DocumentFilter

    def get_queryset(self):
        related = [n for n in ("document_type", "office", "user") if _expanded(self.request, n)]
        return Document.objects.select_related(*related).order_by("id")


def _date_param(request, name: str) -> dt.date:
    try:
        return dt.datetime.fromtimestamp(int(request.query_params[name]), tz=dt.UTC).date()
    except (KeyError, ValueError, OverflowError, OSError):
        raise ValidationError({name: ["a Unix timestamp is required"]}) from None


class UserSales(UsualView, generics.ListAPIView):
    serializer_class = SellerDocumentSerializer

    def get_serializer(self, *args, **kwargs):  # a plain ModelSerializer: no flex options
        return generics.GenericAPIView.get_serializer(self, *args, **kwargs)

    def get_queryset(self):
        start, end = _date_param(self.request, "startdate"), _date_param(self.request, "enddate")
        return (
            Document.objects.select_related("document_type")
            .filter(
                user_id=self.kwargs["pk"],
                state=0,
                document_type__use=DocumentUse.SALE,
                emission_date__range=(start, end),
            )
            .order_by("id")
        )

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        if response.data["count"] == 0:
            get_object_or_404(User, pk=self.kwargs["pk"])
        return response


class SellerSerializer(serializers.Serializer):
    href = serializers.SerializerMethodField()
    id = serializers.IntegerField(source="user_id")
    fullName = serializers.SerializerMethodField()
    subtotal = serializers.DecimalField(max_digits=20, decimal_places=2, coerce_to_string=False)
    taxSubtotal = serializers.DecimalField(
        max_digits=20, decimal_places=2, coerce_to_string=False, source="tax_subtotal"
    )
    sales = serializers.SerializerMethodField()
    returns = serializers.SerializerMethodField()

    def get_href(self, row) -> str:
        return f"{self.context['base']}/v1/users/{row['user_id']}.json"

    def get_fullName(self, row) -> str:
        return row["full_name"]

    def get_sales(self, row) -> dict:
        return {
            "href": f"{self.context['base']}/v1/users/{row['user_id']}/sales.json?{self.context['dates']}"
        }

    def get_returns(self, row) -> dict:
        return {
            "href": f"{self.context['base']}/v1/users/{row['user_id']}/returns.json?{self.context['dates']}"
        }


def _sum(column: str, use: int):
    money = DecimalField(max_digits=20, decimal_places=2)
    return Coalesce(
        Sum(Case(When(document_type__use=use, then=F(column)), output_field=money)),
        Value(Decimal("0.00")),
        output_field=money,
    )


class SalesSummary(UsualView):
    queryset = User.objects.all()  # needs users.view_user, as /v1/users/sales_summary

    def get(self, request):
        start, end = _date_param(request, "startdate"), _date_param(request, "enddate")
        column = "net_amount" if settings.SALES_SUMMARY_SUBTOTAL == "net" else "total_amount"
        rows = list(
            Document.objects.filter(
                state=0,
                emission_date__range=(start, end),
                document_type__use__in=(DocumentUse.SALE, DocumentUse.RETURN),
                user__isnull=False,
            )
            .values("user_id", "user__first_name", "user__last_name")
            .annotate(
                sales=_sum(column, DocumentUse.SALE),
                returns=_sum(column, DocumentUse.RETURN),
                sales_tax=_sum("tax_amount", DocumentUse.SALE),
                returns_tax=_sum("tax_amount", DocumentUse.RETURN),
            )
            .order_by()
        )
        for row in rows:
            row["full_name"] = f"{row['user__first_name']} {row['user__last_name']}".strip()
            row["subtotal"] = row["sales"] - row["returns"]
            row["tax_subtotal"] = row["sales_tax"] - row["returns_tax"]
        rows.sort(key=lambda r: (r["full_name"].casefold(), r["user_id"]))
        first, last = _unix(start), _unix(end)
        context = {"base": _base(request), "dates": f"startdate={first}&enddate={last}"}
        sellers = SellerSerializer(rows, many=True, context=context).data
        total = sum((r["subtotal"] for r in rows), Decimal("0.00"))
        return Response(
            {
                "startDate": first,
                "endDate": last,
                "total": serializers.DecimalField(
                    max_digits=20, decimal_places=2, coerce_to_string=False
                ).to_representation(total),
                "sellers": sellers,
            }
        )


# Mounted by bench.urls (bench settings) and by tests/test_bench_equivalence.py.
urlpatterns = [
    path("bench/usual/v1/users.json", UserList.as_view(), name="usual-users"),
    path("bench/usual/v1/users/sales_summary.json", SalesSummary.as_view(), name="usual-summary"),
    path("bench/usual/v1/users/<int:pk>.json", UserDetail.as_view(), name="usual-user"),
    path("bench/usual/v1/users/<int:pk>/sales.json", UserSales.as_view(), name="usual-user-sales"),
    path("bench/usual/v1/documents.json", DocumentList.as_view(), name="usual-documents"),
]
