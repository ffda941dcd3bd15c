from django.contrib import admin
from django.urls import include, path

from common.routers import BsaleRouter
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
    path("v1/", include(v1.urls)),
    path("", include("users.leancore")),
]

handler400 = "common.views.bad_request"
handler403 = "common.views.permission_denied"
handler404 = "common.views.not_found"
handler500 = "common.views.server_error"
