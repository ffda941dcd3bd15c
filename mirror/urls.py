from django.urls import path

from mirror.views import bsale_webhook

urlpatterns = [path("webhooks/bsale/", bsale_webhook, name="bsale-webhook")]
