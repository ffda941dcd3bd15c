"""The Bsale API rules, written once: every ``/v1/`` resource is served through here.

``resources`` (the declarations), ``parameters`` (query parameters), ``row_plans`` (columns
and joins from ``fields`` and ``expand``), ``expand_permissions``, ``fast_path`` (the
compiled queries), ``links`` and ``payloads`` (the envelopes). Import from those modules.
"""
