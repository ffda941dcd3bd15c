"""The Bsale API rules, written once: every ``/v1/`` resource is served through here
(``resources``, ``parameters``, ``row_plans``, ``expand_permissions``, ``fast_path``,
``links``, ``payloads``)."""
