"""Spanish and English: the admin follows the browser or the language switch (Spanish by
default), the API stays English, and the committed catalog is complete and compiled."""

from __future__ import annotations

import ast
import gettext as gettext_module
import re
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.utils import translation

from tests.conftest import grant, token_for
from tests.factories import UserFactory

LOCALE = Path(settings.BASE_DIR) / "locale"
PO = LOCALE / "es" / "LC_MESSAGES" / "django.po"
MO = LOCALE / "es" / "LC_MESSAGES" / "django.mo"
TRANSLATED_APPS = ("users", "offices", "sales")
# Words that are the same in both languages.
SAME_IN_SPANISH = {
    "NIT",
    "EMC",
    "UUID",
    "API",
    "virtual",
    "Subtotal",
    "Total",
    "Salesdesk",
    "Error",
}


def _main(html: str) -> str:
    """The page without its language switch (which names both languages)."""
    return re.sub(r'<form class="language-switch".*?</form>', "", html, flags=re.S)


# --- The admin's language -------------------------------------------------------------------


def test_admin_index_is_spanish_by_default(staff_client):
    response = staff_client.get("/admin/")
    html = _main(response.content.decode())
    assert response["Content-Language"] == "es"
    assert '<html lang="es"' in html
    for text in (
        "Usuarios",
        "Sucursales",
        "Ventas",
        "Documentos",
        "Tipos de documento",
        "Historial de ventas",
        "Registro de auditoría",
        "Resumen de ventas",
        "Importar historial de ventas",
        "Mejores vendedores del mes",
        "Salesdesk: administración",
    ):
        assert text in html, text
    for text in ("Sales summary", "Documents", "Offices", "Site administration"):
        assert text not in html, text


def test_admin_index_in_english_for_an_english_browser(staff_client):
    response = staff_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    html = _main(response.content.decode())
    assert response["Content-Language"] == "en"
    for text in ("Users", "Offices", "Documents", "Sales summary", "Import sales history"):
        assert text in html, text
    for text in ("Usuarios", "Resumen de ventas", "Sucursales"):
        assert text not in html, text


def test_a_spanish_browser_and_an_unknown_language_get_spanish(staff_client):
    for header in ("es-PE,es;q=0.9", "fr-FR,fr;q=0.9", "de"):
        html = staff_client.get("/admin/", HTTP_ACCEPT_LANGUAGE=header).content.decode()
        assert "Resumen de ventas" in html, header


def test_the_language_switch_sets_the_language_over_the_browsers(staff_client):
    html = staff_client.get("/admin/").content.decode()
    switch = re.search(r'<form class="language-switch".*?</form>', html, re.S).group(0)
    assert 'action="/i18n/setlang/"' in switch
    assert 'value="en"' in switch and 'value="es"' in switch
    assert re.search(r'value="es"[^>]*aria-current="true" disabled', switch)

    response = staff_client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    html = _main(
        staff_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    )  # the choice beats the browser
    assert "Sales summary" in html and "Resumen de ventas" not in html

    staff_client.post("/i18n/setlang/", {"language": "es", "next": "/admin/"})
    assert "Resumen de ventas" in staff_client.get("/admin/").content.decode()


def test_the_switch_is_on_the_login_page_too(client, db):
    html = client.get("/admin/login/").content.decode()
    assert 'class="language-switch"' in html
    assert "Nombre de usuario" in html  # Django's own admin strings, in Spanish


def test_set_language_refuses_a_foreign_redirect(staff_client):
    response = staff_client.post(
        "/i18n/setlang/", {"language": "en", "next": "https://evil.example.com/"}
    )
    assert "evil.example.com" not in response.get("Location", "")


def test_every_admin_page_of_ours_is_spanish(staff_client):
    pages = {
        "/admin/sales/document/summary/": "Resumen de ventas",
        "/admin/sales/saleshistoryentry/import/": "Importar historial de ventas",
        "/admin/sales/document/": "Documentos",
        "/admin/sales/documenttype/": "Tipos de documento",
        "/admin/offices/office/": "Sucursales",
        "/admin/users/user/": "Usuarios",
        "/admin/users/auditentry/": "Registro de auditoría",
        "/admin/sales/saleshistoryentry/": "Historial de ventas",
        "/admin/users/user/add/": "Perfil",
    }
    for url, text in pages.items():
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode(), url


# --- The API stays English ------------------------------------------------------------------


def test_the_api_answers_in_english_whatever_the_browser(client, db):
    spanish = client.get("/v1/users.json", HTTP_ACCEPT_LANGUAGE="es")
    english = client.get("/v1/users.json", HTTP_ACCEPT_LANGUAGE="en")
    assert spanish.status_code == english.status_code == 401
    assert spanish.json() == english.json()
    assert spanish.get("Content-Language", "en") == "en"


def test_api_errors_stay_english_for_a_spanish_client(client, db):
    user = UserFactory(office=None)
    grant(user, "users.view_user")
    answers = [
        client.get(
            "/v1/users.json",
            {"limit": "abc"},
            HTTP_ACCEPT_LANGUAGE=language,
            HTTP_AUTHORIZATION=f"Bearer {token_for(user)}",
        )
        for language in ("es", "en")
    ]
    assert [a.status_code for a in answers] == [400, 400]
    assert answers[0].json() == answers[1].json()


# --- The models speak Spanish ---------------------------------------------------------------


def _model_texts():
    for app_label in TRANSLATED_APPS:
        config = apps.get_app_config(app_label)
        yield f"{app_label} app", config.verbose_name
        for model in config.get_models():
            opts = model._meta
            yield f"{opts.label} verbose_name", opts.verbose_name
            yield f"{opts.label} verbose_name_plural", opts.verbose_name_plural
            for field in opts.get_fields():
                if not hasattr(field, "verbose_name") or field.auto_created:
                    continue
                yield f"{opts.label}.{field.name}", field.verbose_name
                for _value, label in getattr(field, "flatchoices", None) or []:
                    yield f"{opts.label}.{field.name} choice", label
            for _codename, name in opts.permissions:
                yield f"{opts.label} permission", name


def test_every_model_field_and_choice_has_a_spanish_name():
    untranslated = []
    for where, text in _model_texts():
        with translation.override("en"):
            english = str(text)
        with translation.override("es"):
            spanish = str(text)
        if spanish == english and english not in SAME_IN_SPANISH and english != "ID":
            untranslated.append(f"{where}: {english!r}")
    assert not untranslated, untranslated


# --- The catalog ------------------------------------------------------------------------------


def _po_entries(path: Path) -> list[dict]:
    """A small .po reader: msgctxt, msgid, msgid_plural, msgstr / msgstr[n], flags."""
    entries, current, key = [], None, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if current is not None:
                entries.append(current)
            current, key = None, None
            continue
        if current is None:
            current = {"flags": set(), "msgstr": {}}
        if line.startswith("#,"):
            current["flags"].update(f.strip() for f in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        match = re.match(r"^(msgctxt|msgid|msgid_plural|msgstr(?:\[(\d)\])?) (\".*\")$", line)
        if match:
            key = match.group(1)
            value = ast.literal_eval(match.group(3))
            if key.startswith("msgstr"):
                key = int(match.group(2) or 0)
                current["msgstr"][key] = value
            else:
                current[key] = value
        else:
            value = ast.literal_eval(line)
            if isinstance(key, int):
                current["msgstr"][key] += value
            else:
                current[key] += value
    return entries


def test_the_catalog_is_complete():
    entries = [e for e in _po_entries(PO) if e["msgid"]]
    assert len(entries) > 150
    problems = [
        e["msgid"] for e in entries if "fuzzy" in e["flags"] or not all(e["msgstr"].values())
    ]
    assert not problems, problems


def test_the_compiled_catalog_is_committed_and_matches_the_po():
    """A fresh machine needs no gettext: the .mo is in the repository, built from this .po."""
    assert MO.is_file()
    with MO.open("rb") as fh:
        compiled = gettext_module.GNUTranslations(fh)
    for entry in _po_entries(PO):
        if not entry["msgid"]:
            continue
        if "msgctxt" in entry:
            assert compiled.pgettext(entry["msgctxt"], entry["msgid"]) == entry["msgstr"][0]
        elif "msgid_plural" in entry:
            assert compiled.ngettext(entry["msgid"], entry["msgid_plural"], 1) == entry["msgstr"][0]
            assert compiled.ngettext(entry["msgid"], entry["msgid_plural"], 5) == entry["msgstr"][2]
        else:
            assert compiled.gettext(entry["msgid"]) == entry["msgstr"][0], entry["msgid"]


def test_placeholders_survive_translation():
    for entry in _po_entries(PO):
        names = set(re.findall(r"%\((\w+)\)s", entry["msgid"] + entry.get("msgid_plural", "")))
        for text in entry["msgstr"].values():
            assert set(re.findall(r"%\((\w+)\)s", text)) <= names | {"counter"}, entry["msgid"]
            assert set(re.findall(r"%\((\w+)\)s", text)) >= (names - {"counter"}), entry["msgid"]
