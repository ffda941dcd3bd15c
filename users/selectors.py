from django.db.models import QuerySet

from common.querysets import built_once
from users.models import User


@built_once
def user_list() -> QuerySet[User]:
    return User.objects.order_by("id")
