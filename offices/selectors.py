from django.db.models import QuerySet

from offices.models import Office


def office_list() -> QuerySet[Office]:
    return Office.objects.order_by("id")
