from common.viewsets import BsaleViewSet
from offices.filters import OfficeFilter
from offices.models import Office
from offices.resources import OFFICE_RESOURCE
from offices.selectors import office_list


class OfficeViewSet(BsaleViewSet):
    resource = OFFICE_RESOURCE
    filterset_class = OfficeFilter
    permission_model = Office

    def get_queryset(self):
        return office_list()
