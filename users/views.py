from rest_framework.decorators import action
from rest_framework.response import Response

from common.bsale import Representation, base_url, list_payload, parse_int
from common.dates import parse_date_range
from common.errors import NotFound
from common.viewsets import BsaleViewSet
from sales.models import DocumentUse
from sales.selectors import sales_summary, seller_documents
from sales.serializers import SELLER_DOCUMENT_RESOURCE, sales_summary_payload
from users.filters import UserFilter
from users.models import User
from users.selectors import user_list
from users.serializers import USER_RESOURCE


class UserViewSet(BsaleViewSet):
    resource = USER_RESOURCE
    filterset_class = UserFilter
    permission_model = User

    def get_queryset(self):
        return user_list()

    def _require_user(self, user_id: int) -> None:
        if not User.objects.filter(pk=user_id).exists():
            raise NotFound(f"There is no user with id {user_id}.")

    @action(detail=False, url_path="sales_summary")
    def sales_summary(self, request):
        """Per-seller sales minus returns in ``startdate..enddate`` (default today)."""
        start, end = parse_date_range(request.query_params)
        user_id = None
        if request.query_params.get("userid"):
            user_id = parse_int(request.query_params["userid"], "userid")
        summary = sales_summary(start=start, end=end, user_id=user_id)
        if user_id is not None and not summary.sellers:
            self._require_user(user_id)
        return Response(sales_summary_payload(summary, base_url(request)))

    def _seller_documents(self, request, pk, use: DocumentUse):
        start, end = parse_date_range(request.query_params)
        representation = Representation.for_request(
            request, SELLER_DOCUMENT_RESOURCE, allow_fields=False
        )
        user_id = int(pk)
        queryset = seller_documents(user_id=user_id, use=use, start=start, end=end)
        payload = list_payload(request, queryset, representation)
        if payload["count"] == 0:
            self._require_user(user_id)
        return Response(payload)

    @action(detail=True, url_path="sales")
    def sales(self, request, pk=None):
        """The seller's sale documents in ``startdate..enddate``."""
        return self._seller_documents(request, pk, DocumentUse.SALE)

    @action(detail=True, url_path="returns")
    def returns(self, request, pk=None):
        """The seller's credit notes in ``startdate..enddate``."""
        return self._seller_documents(request, pk, DocumentUse.RETURN)
