"""Leancore methods: update-user-sales-history, GET /user, POST /oauth2/token (to be built)."""

urlpatterns: list = []
