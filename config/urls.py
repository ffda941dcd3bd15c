from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from common.routers import BsaleRouter
from common.views import healthz
from offices.views import OfficeViewSet
from sales.views import DocumentTypeViewSet, DocumentViewSet
from users.views import UserViewSet

v1 = BsaleRouter()
v1.register("users", UserViewSet, basename="user")
v1.register("offices", OfficeViewSet, basename="office")
v1.register("document_types", DocumentTypeViewSet, basename="document-type")
v1.register("documents", DocumentViewSet, basename="document")

urlpatterns = [
    path("admin/", admin.site.urls),
    # The admin's language switch posts to /i18n/setlang/ (Django's set_language view).
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("v1/", include(v1.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("users.leancore")),
    path("", include("mirror.urls")),  # POST /webhooks/bsale/ (docs/mirror.md)
]

handler400 = "common.views.bad_request"
handler403 = "common.views.permission_denied"
handler404 = "common.views.not_found"
handler500 = "common.views.server_error"
