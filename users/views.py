from common.viewsets import BsaleViewSet
from users.filters import UserFilter
from users.models import User
from users.resources import USER_RESOURCE
from users.selectors import user_list


class UserViewSet(BsaleViewSet):
    resource = USER_RESOURCE
    filterset_class = UserFilter
    permission_model = User

    def get_queryset(self):
        return user_list()
