"""The project's benchmark (``make bench``): our API against two references, on PostgreSQL.

- ``bench.run``: the harness (dataset, gunicorn, wrk, psql, results table and JSON);
- ``bench.floor_views``: the floor, the least work the contract allows per read scenario;
- ``bench.usual_views``: the usual approach, DRF ModelSerializer + drf-flex-fields;
- ``bench.admin_pages``: the admin pages' server time, in-process (``--only admin``);
- ``bench.middleware``: the ``X-Query-Count`` header (bench settings only).

Only ``config.settings_bench`` mounts any of it.
"""
