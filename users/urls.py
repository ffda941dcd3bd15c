from django.urls import path

from users.tokens import token_obtain_pair, token_refresh, token_verify

urlpatterns = [
    path("api/token/", token_obtain_pair, name="token_obtain_pair"),
    path("api/token/refresh/", token_refresh, name="token_refresh"),
    path("api/token/verify/", token_verify, name="token_verify"),
]
