from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from common.routers import BsaleRouter
from common.views import favicon, healthz, home
from leancore.views import UserHistoryViewSet
from offices.views import OfficeViewSet
from sales.views import DocumentTypeViewSet, DocumentViewSet, SellerViewSet
from users.views import UserViewSet

# No navigation sidebar: at a laptop's 1400 px its 275 px pushed the lists' main columns
# (the users' editable quota) off-screen. The index and the breadcrumbs lead everywhere.
admin.site.enable_nav_sidebar = False

v1 = BsaleRouter()
v1.register("users", UserViewSet, basename="user")
# Other apps' actions under /v1/users/ (same prefix and basename: same URLs and names).
v1.register_actions("users", SellerViewSet, basename="user")
v1.register_actions("users", UserHistoryViewSet, basename="user")
v1.register("offices", OfficeViewSet, basename="office")
v1.register("document_types", DocumentTypeViewSet, basename="document-type")
v1.register("documents", DocumentViewSet, basename="document")

urlpatterns = [
    path("", home, name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    # The admin's language switch posts to /i18n/setlang/ (Django's set_language view).
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("v1/", include(v1.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("leancore.urls")),
    path("", include("users.urls")),
    path("", include("mirror.urls")),  # POST /webhooks/bsale/ (docs/mirror.md)
]

handler400 = "common.views.bad_request"
handler403 = "common.views.permission_denied"
handler404 = "common.views.not_found"
handler500 = "common.views.server_error"
