"""Schema fuzzing: schemathesis generates requests from the app's own /api/schema/.

Every operation, in-process on the WSGI app (no server), authenticated as a superuser
with a JWT (alternating ``Authorization: Bearer`` and Bsale's ``access_token``), over a
database with a few rows. Positive and negative data. Checks: no 5xx, every status
code documented, every response body conforms to its documented schema.

More cases: ``FUZZ_EXAMPLES=500 .venv/bin/pytest tests/test_schema_fuzz.py``.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.conftest import token_for
from tests.factories import (
    CreditNoteTypeFactory,
    DocumentFactory,
    DocumentTypeFactory,
    OfficeFactory,
    SalesHistoryEntryFactory,
    UserFactory,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "75"))
MIN_TOTAL_CASES = 1000
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
OPERATIONS = sorted(
    f"{op.method.upper()} {op.path}" for op in (r.ok() for r in schema.get_all_operations())
)
cases_run: Counter[str] = Counter()
_schemes = itertools.cycle(["bearer", "access_token"])


@pytest.fixture
def fuzz_auth(db, settings):
    """A few rows of everything and a superuser's token; no rate limit in the way."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": None}}
    offices = OfficeFactory.create_batch(2)
    sale, credit = DocumentTypeFactory(), CreditNoteTypeFactory()
    sellers = [UserFactory(office=office) for office in offices]
    for seller in sellers:
        DocumentFactory.create_batch(2, user=seller, office=seller.office, document_type=sale)
        DocumentFactory(user=seller, office=seller.office, document_type=credit)
        SalesHistoryEntryFactory.create_batch(2, user=seller)
    boss = UserFactory(username="fuzz-boss", is_superuser=True, is_staff=True, office=None)
    # The WSGI handler closes "old" connections when a request ends, which would close the
    # test's transaction; Django's test client disconnects it the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    cache.clear()
    try:
        yield token_for(boss)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        cache.clear()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case, fuzz_auth):
    # Our token, in one scheme or the other, instead of the credentials schemathesis makes up
    # from the security schemes (a made-up Authorization would win over access_token).
    if case.headers:
        for name in [n for n in case.headers if n.lower() in ("authorization", "access_token")]:
            del case.headers[name]
    if next(_schemes) == "bearer":
        headers = {"Authorization": f"Bearer {fuzz_auth}"}
    else:
        headers = {"access_token": fuzz_auth}
    operation = f"{case.method.upper()} {case.path}"
    cases_run[operation] += 1
    case.call_and_validate(headers=headers, checks=CHECKS)


def test_enough_cases_were_generated(capsys):
    """Runs after the fuzzing (same module, declared later): at least 1,000 cases in all."""
    if not set(OPERATIONS) <= set(cases_run):
        pytest.skip(f"only part of the fuzzing ran: {sorted(set(OPERATIONS) - set(cases_run))}")
    total = sum(cases_run[op] for op in OPERATIONS)
    # Schemathesis also sends each path the methods it does not declare (expecting 405).
    probes = sum(n for op, n in cases_run.items() if op not in OPERATIONS)
    lines = [
        f"schemathesis: {total} cases over the {len(OPERATIONS)} documented operations "
        f"(max_examples={EXAMPLES}, positive and negative data), plus {probes} "
        "undeclared-method probes",
        *(f"schemathesis:   {cases_run[op]:5d}  {op}" for op in OPERATIONS),
    ]
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert total >= MIN_TOTAL_CASES, cases_run
