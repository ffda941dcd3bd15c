"""The Bsale API rules, written once: every ``/v1/`` resource is served through here.

``resources`` declares what a resource shows, ``parameters`` parses ``fields``, ``expand``
and paging, ``row_plans`` turns them into columns and a row builder, ``expand_permissions``
says who may see what, ``fast_path`` runs the plain lists' SQL compiled once, ``links`` and
``payloads`` build the list and detail envelopes.
"""
