"""The Bsale API rules, written once: every ``/v1/`` resource is served through here
(``resources``, ``parameters``, ``row_plans``, ``expand_permissions``, ``fast_path``,
``links``, ``payloads``). Import from those modules; the names below stay importable from
the package for code written against the single module it replaced."""

import importlib

# Resolved on first use: importing a submodule must not import them all (no import cycle).
_MOVED = {
    "base_url": "links",
    **dict.fromkeys(
        ("MAX_INT", "parse_int", "parse_unix_date", "parse_unix_date_range", "unix_to_date"),
        "parameters",
    ),
    **dict.fromkeys(("detail_payload", "list_payload"), "payloads"),
    **dict.fromkeys(
        ("INTEGER", "STATE", "Attr", "Relation", "Resource", "date_to_unix", "datetime_to_unix"),
        "resources",
    ),
    "flag": "resources",
    "Representation": "row_plans",
}


def __getattr__(name: str):
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module 'common.bsale' has no attribute {name!r}")
    return getattr(importlib.import_module(f"common.bsale.{module}"), name)
