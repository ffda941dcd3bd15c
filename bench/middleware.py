"""``X-Query-Count``: the SQL queries a request made (bench settings only)."""

from django.db import connection


class QueryCountMiddleware:
    """Counts every query run on the default connection while the request is handled.

    ``connection.execute_wrapper`` sees each ``execute``/``executemany`` (ORM and raw
    cursors alike), so the header is the number of round trips to the database.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        response["X-Query-Count"] = str(count)
        return response
