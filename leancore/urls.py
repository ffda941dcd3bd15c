from django.urls import path

from leancore.views import LeancoreUserView, OAuth2TokenView, UpdateUserSalesHistoryView

urlpatterns = [
    # Leancore's paths, exactly as its clients call them (no trailing slash).
    path(
        "update-user-sales-history",
        UpdateUserSalesHistoryView.as_view(),
        name="leancore-update-user-sales-history",
    ),
    path("user", LeancoreUserView.as_view(), name="leancore-user"),
    path("oauth2/token", OAuth2TokenView.as_view(), name="oauth2-token"),
]
