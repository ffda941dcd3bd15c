"""``manage.py import_sales_history FILE [--dry-run] [--replace] [--format csv|jsonl]``."""

import datetime as dt
import json
import uuid
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from sales.models import SalesHistoryEntry
from tests.factories import SalesHistoryEntryFactory, UserFactory
from users.models import AuditEntry

pytestmark = pytest.mark.django_db

HEADER = "user_id,nit,monto,fecha,emc\n"


@pytest.fixture(autouse=True)
def _lima(settings):
    settings.TIME_ZONE = "America/Lima"


@pytest.fixture
def users(db):
    return UserFactory(), UserFactory()


def run(path, *args):
    out, err = StringIO(), StringIO()
    call_command("import_sales_history", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(path, *args):
    err = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import_sales_history", str(path), *args, stdout=StringIO(), stderr=err)
    return str(exc.value), err.getvalue()


def history(user):
    """(nit, amount, date, emc) of the user's entries, by date, nit and emc."""
    rows = SalesHistoryEntry.objects.filter(user=user)
    return [
        (e.nit, e.amount, e.date, e.emc) for e in sorted(rows, key=lambda e: (e.date, e.nit, e.emc))
    ]


def write_csv(tmp_path, rows, header=HEADER, name="history.csv"):
    path = tmp_path / name
    path.write_text(header + "".join(rows), encoding="utf-8")
    return path


def write_jsonl(tmp_path, records, name="history.jsonl"):
    path = tmp_path / name
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records),
        encoding="utf-8",
    )
    return path


def test_a_good_csv_is_imported_in_one_go(tmp_path, users):
    a, b = users
    path = write_csv(
        tmp_path,
        [
            f"{a.uuid},900123456-7,150000.50,2024-03-01T10:30:00-05:00,Postobón\n",
            f'{a.uuid},800200300-1,12,2024-03-02,"Bavaria, S.A."\n',
            "\n",
            f"{b.uuid},900123456-7,0,2024-03-01T10:30,Postobón\n",
        ],
    )

    out, _err = run(path, "--no-progress")

    assert history(a) == [
        (
            "900123456-7",
            Decimal("150000.50"),
            dt.datetime(2024, 3, 1, 15, 30, tzinfo=dt.UTC),
            "Postobón",
        ),
        (
            "800200300-1",
            Decimal("12.00"),
            dt.datetime(2024, 3, 2, 5, tzinfo=dt.UTC),
            "Bavaria, S.A.",
        ),
    ]
    assert history(b) == [
        ("900123456-7", Decimal("0.00"), dt.datetime(2024, 3, 1, 15, 30, tzinfo=dt.UTC), "Postobón")
    ]
    assert "Lines read: 3 (3 entries)" in out
    assert "Users: 2" in out
    assert "Created: 3, updated: 0, deleted: 0, unchanged: 0 (merge)" in out
    audits = AuditEntry.objects.all()
    assert len(audits) == 2
    assert {x.source for x in audits} == {"command"}
    assert {x.actor for x in audits} == {None}


def test_a_good_jsonl_is_imported(tmp_path, users):
    a, _b = users
    path = write_jsonl(
        tmp_path,
        [
            {"user_id": str(a.uuid), "nit": "1", "monto": 10.5, "fecha": "2024-03-01", "emc": "X"},
            "",
            {"user_id": str(a.uuid), "nit": "1", "monto": 7, "fecha": "2024-03-02", "emc": "X"},
        ],
        name="h.ndjson",
    )

    out, _err = run(path, "--no-progress")

    assert [(e[1], e[3]) for e in history(a)] == [(Decimal("10.50"), "X"), (Decimal("7.00"), "X")]
    assert "Created: 2" in out


def test_merge_updates_and_keeps_what_the_file_does_not_mention(tmp_path, users):
    a, _b = users
    SalesHistoryEntryFactory(
        user=a,
        nit="1",
        emc="X",
        amount=Decimal("1"),
        date=dt.datetime(2024, 3, 1, 5, tzinfo=dt.UTC),
    )
    SalesHistoryEntryFactory(user=a, nit="2", emc="untouched")
    path = write_csv(tmp_path, [f"{a.uuid},1,9.99,2024-03-01,X\n", f"{a.uuid},3,1,2024-03-01,Y\n"])

    out, _err = run(path, "--no-progress")

    assert "Created: 1, updated: 1, deleted: 0, unchanged: 0" in out
    assert {e[3]: e[1] for e in history(a)} == {
        "X": Decimal("9.99"),
        "Y": Decimal("1.00"),
        "untouched": Decimal("150000.50"),
    }


def test_replace_replaces_the_history_of_each_mentioned_user_only(tmp_path, users):
    a, b = users
    SalesHistoryEntryFactory.create_batch(3, user=a, emc="old")
    SalesHistoryEntryFactory.create_batch(2, user=b, emc="kept")
    path = write_csv(tmp_path, [f"{a.uuid},1,5,2024-03-01,new\n"])

    out, _err = run(path, "--replace", "--no-progress")

    assert [e[3] for e in history(a)] == ["new"]
    assert [e[3] for e in history(b)] == ["kept", "kept"]
    assert "Created: 1, updated: 0, deleted: 3, unchanged: 0 (replace)" in out


def test_importing_the_same_file_twice_changes_nothing(tmp_path, users):
    a, _b = users
    path = write_csv(tmp_path, [f"{a.uuid},1,5,2024-03-01,X\n"])
    run(path, "--no-progress")

    out, _err = run(path, "--no-progress")

    assert "Created: 0, updated: 0, deleted: 0, unchanged: 1" in out
    assert AuditEntry.objects.count() == 1


def test_dry_run_reports_and_writes_nothing(tmp_path, users):
    a, b = users
    SalesHistoryEntryFactory(
        user=a,
        nit="1",
        emc="X",
        amount=Decimal("1"),
        date=dt.datetime(2024, 3, 1, 5, tzinfo=dt.UTC),
    )
    SalesHistoryEntryFactory(user=a, emc="gone")
    path = write_csv(tmp_path, [f"{a.uuid},1,2,2024-03-01,X\n", f"{b.uuid},1,2,2024-03-01,X\n"])

    out, _err = run(path, "--dry-run", "--replace", "--no-progress")

    assert "Would create: 1, updated: 1, deleted: 1, unchanged: 0 (replace)" in out
    assert "Dry run: nothing was written." in out
    assert SalesHistoryEntry.objects.count() == 2
    assert SalesHistoryEntry.objects.get(emc="X").amount == Decimal("1.00")
    assert not AuditEntry.objects.exists()


def test_every_bad_line_is_reported_by_number_and_nothing_is_written(tmp_path, users):
    a, _b = users
    unknown = uuid.uuid4()
    rows = [
        f"{a.uuid},1,10,2024-03-01,X\n",  # line 2: good
        f"{a.uuid},1,abc,2024-03-02,X\n",  # line 3
        f"{a.uuid},1,-5,2024-03-03,X\n",  # line 4
        f"{a.uuid},1,1.234,2024-03-04,X\n",  # line 5
        "not-a-uuid,1,1,2024-03-05,X\n",  # line 6
        f"{unknown},1,1,2024-03-06,X\n",  # line 7
        f"{a.uuid},,1,2024-31-01,X\n",  # line 8: two errors
        f"{a.uuid},1,1,2024-03-01\n",  # line 9: a column short
        f"{a.uuid},1,NaN,2024-03-09,X\n",  # line 10
        f"{a.uuid},{'9' * 33},1,2024-03-10,X\n",  # line 11
        f"{a.uuid},1,20,2024-03-01T00:00:00-05:00,X\n",  # line 12: duplicates line 2
        f"{a.uuid},1,3,2024-03-12,X\n",  # line 13: good
    ]
    path = write_csv(tmp_path, rows)

    message, err = run_failing(path, "--no-progress")

    assert err.splitlines() == [
        "line 3: monto: must be a number",
        "line 4: monto: must be greater than or equal to 0",
        "line 5: monto: must have at most 2 decimals",
        "line 6: user_id: must be a UUID",
        f"line 7: user_id: no user with id {unknown}",
        "line 8: nit: must not be empty",
        "line 8: fecha: must be an ISO 8601 date or datetime",
        "line 9: expected 5 columns, found 4",
        "line 10: monto: must be a number",
        "line 11: nit: must be at most 32 characters",
        "line 12: duplicates line 2 (same user_id, nit, fecha and emc)",
    ]
    assert "11 error(s)" in message
    assert "nothing was written" in message
    assert not SalesHistoryEntry.objects.exists()
    assert not AuditEntry.objects.exists()


def test_jsonl_errors_by_line(tmp_path, users):
    a, _b = users
    good = {"user_id": str(a.uuid), "nit": "1", "monto": 1, "fecha": "2024-03-01", "emc": "X"}
    path = write_jsonl(
        tmp_path,
        [
            good,
            "{not json",
            "[1, 2]",
            {**good, "monto": "12"},
            {**good, "extra": 1, "fecha": "2024-03-05"},
            {k: v for k, v in good.items() if k != "user_id"},
            f'{{"user_id": "{a.uuid}", "nit": "1", "monto": NaN, "fecha": "2024-03-07", "emc": "X"}}',
        ],
    )

    _message, err = run_failing(path, "--no-progress")

    lines = err.splitlines()
    assert lines[0].startswith("line 2: invalid JSON")
    assert lines[1:-1] == [
        "line 3: must be a JSON object with user_id, nit, monto, fecha, emc",
        "line 4: monto: must be a number",
        "line 5: extra: unknown field",
        "line 6: user_id: this field is required",
    ]
    assert lines[-1].startswith("line 7: invalid JSON")
    assert not SalesHistoryEntry.objects.exists()


def test_all_or_nothing_when_only_the_last_line_is_bad(tmp_path, users):
    a, b = users
    rows = [f"{a.uuid},1,{i},2024-03-01T00:{i:02d},X\n" for i in range(50)]
    rows.append(f"{b.uuid},1,oops,2024-03-01,X\n")
    path = write_csv(tmp_path, rows)

    _message, err = run_failing(path, "--no-progress")

    assert err.splitlines() == ["line 52: monto: must be a number"]
    assert not SalesHistoryEntry.objects.exists()


def test_a_failure_while_writing_rolls_back_every_user(tmp_path, users, monkeypatch):
    a, b = users
    SalesHistoryEntryFactory(user=a, emc="kept")
    path = write_csv(tmp_path, [f"{a.uuid},1,1,2024-03-01,X\n", f"{b.uuid},1,1,2024-03-01,X\n"])
    from sales.management.commands import import_sales_history as command

    calls = []
    real = command.sales_history_update

    def second_fails(**kwargs):
        calls.append(kwargs["user"].pk)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(command, "sales_history_update", second_fails)

    with pytest.raises(RuntimeError):
        run(path, "--replace", "--no-progress")

    assert list(SalesHistoryEntry.objects.values_list("emc", flat=True)) == ["kept"]
    assert not AuditEntry.objects.exists()


def test_errors_beyond_max_errors_are_counted(tmp_path, users):
    a, _b = users
    path = write_csv(tmp_path, [f"{a.uuid},1,bad,2024-03-01,X\n"] * 5)

    message, err = run_failing(path, "--no-progress", "--max-errors", "2")

    assert err.splitlines() == [
        "line 2: monto: must be a number",
        "line 3: monto: must be a number",
        "... and 3 more errors.",
    ]
    assert "5 error(s)" in message


def test_a_big_file_is_read_again_per_chunk_of_users_with_the_same_result(tmp_path):
    people = [UserFactory(office=None) for _ in range(5)]
    start = dt.datetime(2024, 3, 1)
    rows = [
        f"{people[i % 5].uuid},{i % 3},{i}.5,{(start + dt.timedelta(minutes=i)).isoformat()},E{i % 4}\n"
        for i in range(300)
    ]
    path = write_csv(tmp_path, rows)

    out, _err = run(path, "--no-progress", "--chunk-entries", "70")

    assert SalesHistoryEntry.objects.count() == len(rows)
    assert f"Created: {len(rows)}," in out
    for person in people:
        expected = sum(1 for r in rows if r.startswith(str(person.uuid)))
        assert SalesHistoryEntry.objects.filter(user=person).count() == expected
    assert AuditEntry.objects.count() == 5


def test_duplicates_are_found_in_a_chunked_file_too(tmp_path, users):
    a, _b = users
    rows = [f"{a.uuid},1,{i},2024-03-{i + 1:02d},X\n" for i in range(20)]
    rows.append(f"{a.uuid},1,99,2024-03-05T00:00:00Z,X\n")  # a different instant: fine
    rows.append(f"{a.uuid},1,99,2024-03-05T05:00:00Z,X\n")  # = 2024-03-05 in Lima (line 6)
    path = write_csv(tmp_path, rows)

    _message, err = run_failing(path, "--no-progress", "--chunk-entries", "5")

    assert err.splitlines() == ["line 23: duplicates line 6 (same user_id, nit, fecha and emc)"]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("user_id,nit,monto,fecha\n", "missing emc"),
        ("user_id,nit,monto,fecha,emc,extra\n", "unknown 'extra'"),
        ("user_id,nit,monto,fecha,emc,emc\n", "a column appears twice"),
        ("", "the file is empty"),
    ],
)
def test_a_bad_header_is_an_error(tmp_path, header, message):
    path = write_csv(tmp_path, [], header=header)

    text, _err = run_failing(path, "--no-progress")

    assert message in text


def test_columns_may_come_in_any_order_with_a_bom(tmp_path, users):
    a, _b = users
    path = tmp_path / "h.csv"
    path.write_text(f"\ufeffEMC,fecha,monto,nit,user_id\nX,2024-03-01,5,1,{a.uuid}\n")

    run(path, "--no-progress")

    assert history(a)[0][3] == "X"


def test_the_format_comes_from_the_extension_or_the_option(tmp_path, users):
    a, _b = users
    path = tmp_path / "history.txt"
    path.write_text(HEADER + f"{a.uuid},1,5,2024-03-01,X\n")

    message, _err = run_failing(path)
    assert "--format" in message

    run(path, "--format", "csv", "--no-progress")
    assert SalesHistoryEntry.objects.count() == 1


def test_a_missing_file_is_an_error(tmp_path):
    message, _err = run_failing(tmp_path / "nope.csv")

    assert "No such file" in message


def test_a_file_that_is_not_utf8_is_an_error(tmp_path, users):
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + f"{users[0].uuid},1,5,2024-03-01,Postobón\n").encode("latin-1"))

    message, _err = run_failing(path, "--no-progress")

    assert "not UTF-8" in message
    assert not SalesHistoryEntry.objects.exists()


def test_an_empty_jsonl_imports_nothing(tmp_path):
    path = write_jsonl(tmp_path, [])

    out, _err = run(path, "--no-progress")

    assert "Lines read: 0 (0 entries)" in out


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_goes_to_stderr_on_a_terminal_only_and_verbosity_0_is_quiet(tmp_path, users):
    a, _b = users
    path = write_csv(tmp_path, [f"{a.uuid},1,5,2024-03-0{d},X\n" for d in range(1, 4)])

    out, err = StringIO(), Terminal()
    call_command("import_sales_history", str(path), stdout=out, stderr=err)
    assert "validating" in err.getvalue() or "writing" in err.getvalue()
    assert "Created: 3" in out.getvalue()

    out, err = run(path)  # not a terminal: no bar
    assert err == "" and "unchanged: 3" in out

    out, err = run(path, "--verbosity", "0")
    assert out == "" and err == ""


def test_every_bad_line_is_reported_even_after_an_unterminated_quote(tmp_path, users):
    a, _b = users
    path = write_csv(
        tmp_path,
        [
            f'{a.uuid},"900123456,10.50,2024-03-01,X\n',  # 2: the quote never closes
            f"{a.uuid},900123456,10.50,2024-03-02,X\n",  # 3: good
            f'{a.uuid},900123456,"10.50,2024-03-03,X\n',  # 4
            f"{a.uuid},900123456,-1,2024-03-04,X\n",  # 5
        ],
    )
    message, err = run_failing(path, "--no-progress")
    assert message == "3 error(s) in history.csv; nothing was written."
    lines = err.splitlines()
    assert [line.split(":")[0] for line in lines] == ["line 2", "line 4", "line 5"]
    assert lines[0].startswith("line 2: unreadable CSV (")
    assert not SalesHistoryEntry.objects.exists()


def test_a_header_row_is_required(tmp_path, users):
    a, _b = users
    path = write_csv(tmp_path, [], header=f"{a.uuid},900123456,10.50,2024-03-01,X\n")
    message, _err = run_failing(path, "--no-progress")
    assert "line 1: the header must name the columns user_id,nit,monto,fecha,emc" in message
