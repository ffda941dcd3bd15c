"""``X-Query-Count``: the SQL queries a request made (bench settings only)."""

from django.db import connection


class QueryCounter:
    """Counts every query run on the default connection inside ``with``.

    ``connection.execute_wrapper`` sees each ``execute``/``executemany`` (ORM and raw
    cursors alike), so ``count`` is the number of round trips to the database.
    """

    def __init__(self):
        self.count = 0
        self._wrapping = connection.execute_wrapper(self)

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def __enter__(self):
        self._wrapping.__enter__()
        return self

    def __exit__(self, *exc_info):
        return self._wrapping.__exit__(*exc_info)


class QueryCountMiddleware:
    """Counts every query run while the request is handled (``QueryCounter``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with QueryCounter() as queries:
            response = self.get_response(request)
        response["X-Query-Count"] = str(queries.count)
        return response
