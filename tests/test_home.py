"""``/`` (where the admin's "View site" leads) and ``/favicon.ico``."""

from __future__ import annotations

import logging

import pytest

pytestmark = pytest.mark.django_db


def test_root_is_a_landing_page_linking_admin_docs_schema_and_health(client, caplog):
    caplog.set_level(logging.INFO)
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    for href in ('href="/admin/"', 'href="/api/docs/"', 'href="/api/schema/"', 'href="/healthz"'):
        assert href in html
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_root_speaks_spanish_by_default(client):
    html = client.get("/").content.decode()
    assert "Documentación de la API" in html and 'lang="es"' in html


def test_view_site_in_the_admin_leads_to_the_landing_page(staff_client):
    html = staff_client.get("/admin/").content.decode()
    assert 'href="/"' in html
    assert staff_client.get("/").status_code == 200


def test_favicon_answers_without_a_warning(client, caplog):
    caplog.set_level(logging.INFO)
    response = client.get("/favicon.ico")
    assert response.status_code == 204
    assert "max-age" in response["Cache-Control"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_root_takes_only_get(client):
    assert client.post("/").status_code == 405
