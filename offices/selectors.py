from django.db.models import QuerySet

from common.querysets import built_once
from offices.models import Office


@built_once
def office_list() -> QuerySet[Office]:
    return Office.objects.order_by("id")
