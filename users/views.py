from common.viewsets import BsaleViewSet
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
