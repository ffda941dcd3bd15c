"""Reading and validating sales-history files: ``user_id,nit,monto,fecha,emc`` per line.

Shared by the ``import_sales_history`` command (big files, streamed from disk) and the
admin's upload page (small files, in memory): both read lines with ``csv_records`` /
``jsonl_records`` and check each record with ``parse_record``, which applies the rules of
``sales.services`` (the Leancore API's), and both write through
``sales.services.sales_history_update``.

The admin keeps a validated upload between its preview and its confirmation in the
database (``PendingHistoryImport``, so that any web host can confirm it), named by an
unguessable token that only the uploader's session knows (``store_upload`` /
``load_upload``); the file is validated again on confirmation.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from common.errors import InvalidInput
from sales.models import PendingHistoryImport
from sales.services import (
    HistoryEntryData,
    parse_amount,
    parse_amount_text,
    parse_history_entry,
    parse_user_uuid,
)
from users.models import User

COLUMNS = ("user_id", "nit", "monto", "fecha", "emc")
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
LOOKUP_BATCH = 500  # user ids per bulk lookup (well under SQLite's 999 parameters)


class HistoryFileError(Exception):
    """The file cannot be read on (bad header, bad encoding, broken CSV quoting)."""


# --- Reading ------------------------------------------------------------------------------


def _csv_row(text: str) -> list[str]:
    """One physical line as CSV cells; raises ``csv.Error`` (an unterminated quote...)."""
    return next(csv.reader([text.rstrip("\r\n")], strict=True), [])


def csv_records(fh: Iterable[str]) -> Iterator[tuple[int, Any]]:
    """``(line number, record)`` of a CSV with a header row; a record is a dict, or a str
    saying why the line is unreadable. ``fh`` is text opened with ``newline=""``
    (``encoding="utf-8-sig"`` for files). Raises ``HistoryFileError`` when the header is
    missing or wrong, or the text is not UTF-8.

    Each physical line is parsed on its own (no field of this format holds a newline), so
    a broken line, an unterminated quote included, is reported and the next line is read
    as usual: every bad line is listed, not only the first.
    """
    numbered = enumerate(fh, start=1)
    line = 1
    try:
        first = next(numbered, None)
        if first is None:
            raise HistoryFileError(
                "the file is empty (a header row user_id,nit,monto,fecha,emc is needed)"
            )
        try:
            header = _csv_row(first[1])
        except csv.Error as exc:
            raise HistoryFileError(f"line 1: unreadable CSV ({exc})") from None
        columns = [name.strip().lower() for name in header]
        missing = [c for c in COLUMNS if c not in columns]
        unknown = [c for c in columns if c not in COLUMNS]
        if missing or unknown or len(set(columns)) != len(columns):
            detail = []
            if missing:
                detail.append(f"missing {', '.join(missing)}")
            if unknown:
                detail.append(f"unknown {', '.join(repr(c) for c in unknown)}")
            if len(set(columns)) != len(columns):
                detail.append("a column appears twice")
            raise HistoryFileError(
                f"line 1: the header must name the columns {','.join(COLUMNS)} "
                f"({'; '.join(detail)})"
            )
        for line, text in numbered:
            if not text.strip():
                continue  # a blank line
            try:
                row = _csv_row(text)
            except csv.Error as exc:
                yield line, f"unreadable CSV ({exc})"
                continue
            if len(row) != len(columns):
                yield line, f"expected {len(columns)} columns, found {len(row)}"
                continue
            yield line, dict(zip(columns, row, strict=True))
    except UnicodeDecodeError:
        raise HistoryFileError(f"after line {line}: not UTF-8 text") from None


def jsonl_records(fh: Iterable[bytes]) -> Iterator[tuple[int, Any]]:
    """``(line number, record)`` of a JSON Lines file read as bytes (see ``csv_records``)."""
    for line, raw in enumerate(fh, start=1):
        raw = raw.strip()
        if line == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]  # a UTF-8 byte order mark
        if not raw:
            continue
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            yield line, f"invalid JSON ({exc})"
            continue
        if not isinstance(record, dict):
            yield line, "must be a JSON object with user_id, nit, monto, fecha, emc"
            continue
        yield line, record


def amount_parser_for(fmt: str):
    """A CSV cell is text; a JSON Lines ``monto`` is a JSON number."""
    return parse_amount_text if fmt == "csv" else parse_amount


def parse_record(
    record: dict, *, amount_parser=parse_amount_text
) -> tuple[uuid.UUID | None, HistoryEntryData | None, dict[str, list[str]]]:
    """One record: ``(user uuid, entry, errors by field)``; None where invalid."""
    errors: dict[str, list[str]] = {}
    user_uuid = None
    if "user_id" not in record:
        errors["user_id"] = ["this field is required"]
    else:
        try:
            user_uuid = parse_user_uuid(record["user_id"])
        except ValueError as exc:
            errors["user_id"] = [str(exc)]
    entry = None
    try:
        entry = parse_history_entry(
            {k: v for k, v in record.items() if k != "user_id"}, amount_parser=amount_parser
        )
    except InvalidInput as exc:
        errors.update(exc.errors)
    return user_uuid, entry, errors


def unknown_user_message(user_uuid: uuid.UUID) -> str:
    return f"no user with id {user_uuid}"


def duplicate_line_message(first_line: int) -> str:
    return f"duplicates line {first_line} (same user_id, nit, fecha and emc)"


# --- Validating an upload (small: everything in memory) -----------------------------------


@dataclass(frozen=True)
class LineError:
    line: int  # 0: the file as a whole
    field: str  # "" when the message is about the whole line
    message: str  # English, as the command prints it; ``translated()`` for people

    def __str__(self) -> str:
        text = f"{self.field}: {self.message}" if self.field else self.message
        return f"line {self.line}: {text}" if self.line else text

    def translated(self) -> str:
        message = translate_message(self.message)
        return f"{self.field}: {message}" if self.field else message


@dataclass(frozen=True)
class ImportUser:
    pk: int
    uuid: uuid.UUID
    username: str
    full_name: str

    def as_user(self) -> User:
        """An unsaved stand-in with what the services need (pk; username for the audit)."""
        return User(pk=self.pk, username=self.username)


@dataclass
class ValidatedUpload:
    lines: int = 0
    errors: list[LineError] = field(default_factory=list)
    users: dict[uuid.UUID, ImportUser] = field(default_factory=dict)
    entries: dict[uuid.UUID, list[HistoryEntryData]] = field(default_factory=dict)

    @property
    def entry_count(self) -> int:
        return sum(len(entries) for entries in self.entries.values())

    def by_user(self) -> list[tuple[ImportUser, list[HistoryEntryData]]]:
        """The file's users by pk (the command's lock order), each with its entries."""
        return sorted(
            ((self.users[u], entries) for u, entries in self.entries.items()),
            key=lambda pair: pair[0].pk,
        )


def _records(data: bytes, fmt: str) -> Iterator[tuple[int, Any]]:
    if fmt == "csv":
        text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
        yield from csv_records(text)
    else:
        yield from jsonl_records(io.BytesIO(data))


def validate_upload(data: bytes, fmt: str) -> ValidatedUpload:
    """Every line of ``data`` checked as ``import_sales_history`` checks it.

    Bad lines (unreadable, invalid fields, unknown users, duplicates of an earlier line)
    are all reported, by line number; the users are looked up in bulk. Raises
    ``HistoryFileError`` when the file as a whole cannot be read.
    """
    result = ValidatedUpload()
    amount_parser = amount_parser_for(fmt)
    parsed: list[tuple[int, uuid.UUID, HistoryEntryData]] = []
    user_lines: list[tuple[int, uuid.UUID]] = []
    for line, record in _records(data, fmt):
        result.lines += 1
        if isinstance(record, str):
            result.errors.append(LineError(line, "", record))
            continue
        user_uuid, entry, field_errors = parse_record(record, amount_parser=amount_parser)
        for name, messages in field_errors.items():
            result.errors.extend(LineError(line, name, message) for message in messages)
        if user_uuid is not None:
            user_lines.append((line, user_uuid))
            if entry is not None:
                parsed.append((line, user_uuid, entry))

    ids = list({user_uuid for _line, user_uuid in user_lines})
    for start in range(0, len(ids), LOOKUP_BATCH):
        for pk, user_uuid, username, first, last in User.objects.filter(
            uuid__in=ids[start : start + LOOKUP_BATCH]
        ).values_list("pk", "uuid", "username", "first_name", "last_name"):
            full_name = f"{first} {last}".strip()
            result.users[user_uuid] = ImportUser(pk, user_uuid, username, full_name)
    result.errors.extend(
        LineError(line, "user_id", unknown_user_message(user_uuid))
        for line, user_uuid in user_lines
        if user_uuid not in result.users
    )

    first_line: dict[tuple, int] = {}
    for line, user_uuid, entry in parsed:
        key = (user_uuid, *entry.key)
        if key in first_line:
            result.errors.append(LineError(line, "", duplicate_line_message(first_line[key])))
            continue
        first_line[key] = line
        if user_uuid in result.users:
            result.entries.setdefault(user_uuid, []).append(entry)
    result.errors.sort(key=lambda error: error.line)  # stable: a line's errors keep their order
    return result


# --- Messages for people ------------------------------------------------------------------
# The parsers' messages are English (the API's and the command's); the admin shows them in
# the staff member's language. Fixed messages are msgids; the others match a pattern.

_FIXED = {
    gettext_noop("must be a string"),
    gettext_noop("must not be empty"),
    gettext_noop("must not contain NUL characters"),
    gettext_noop("must be a finite number"),
    gettext_noop("must be greater than or equal to 0"),
    gettext_noop("must have at most 2 decimals"),
    gettext_noop("must be a number"),
    gettext_noop("must be an ISO 8601 date or datetime string"),
    gettext_noop("must be an ISO 8601 date or datetime"),
    gettext_noop("is out of range"),
    gettext_noop("must be a UUID string"),
    gettext_noop("must be a UUID"),
    gettext_noop("unknown field"),
    gettext_noop("this field is required"),
    gettext_noop("must be an object with nit, monto, fecha, emc"),
    gettext_noop("must be a JSON object with user_id, nit, monto, fecha, emc"),
    gettext_noop("the file is empty (a header row user_id,nit,monto,fecha,emc is needed)"),
    gettext_noop("history has duplicate entries (same nit, fecha and emc)."),
}
_PATTERNS = [
    (
        re.compile(r"must be at most (?P<n>\d+) characters"),
        gettext_noop("must be at most %(n)s characters"),
    ),
    (re.compile(r"must be at most (?P<n>[\d.]+)"), gettext_noop("must be at most %(n)s")),
    (
        re.compile(r"expected (?P<n>\d+) columns, found (?P<m>\d+)"),
        gettext_noop("expected %(n)s columns, found %(m)s"),
    ),
    (re.compile(r"invalid JSON \((?P<detail>.*)\)"), gettext_noop("invalid JSON (%(detail)s)")),
    (re.compile(r"unreadable CSV \((?P<detail>.*)\)"), gettext_noop("unreadable CSV (%(detail)s)")),
    (re.compile(r"no user with id (?P<id>\S+)"), gettext_noop("no user with id %(id)s")),
    (
        re.compile(r"duplicates line (?P<line>\d+) \(same user_id, nit, fecha and emc\)"),
        gettext_noop("duplicates line %(line)s (same user_id, nit, fecha and emc)"),
    ),
    (
        re.compile(r"line 1: the header must name the columns (?P<columns>\S+) \((?P<detail>.*)\)"),
        gettext_noop("line 1: the header must name the columns %(columns)s (%(detail)s)"),
    ),
    (
        re.compile(r"line (?P<line>\d+): unreadable CSV \((?P<detail>.*)\)"),
        gettext_noop("line %(line)s: unreadable CSV (%(detail)s)"),
    ),
    (
        re.compile(r"after line (?P<line>\d+): not UTF-8 text"),
        gettext_noop("after line %(line)s: not UTF-8 text"),
    ),
]


def translate_message(message: str) -> str:
    """A parser's English message in the active language (unchanged when unknown)."""
    if message in _FIXED:
        return gettext(message)
    for pattern, msgid in _PATTERNS:
        match = pattern.fullmatch(message)
        if match:
            return gettext(msgid) % match.groupdict()
    return message


# --- Pending uploads, between the preview and the confirmation ----------------------------

SESSION_KEY = "sales_history_imports"
MAX_PENDING_PER_SESSION = 3
PENDING_TTL_SECONDS = 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")


@dataclass(frozen=True)
class PendingUpload:
    token: str
    name: str
    fmt: str
    replace: bool
    data: bytes


def _remove(tokens: Iterable[str]) -> None:
    PendingHistoryImport.objects.filter(token__in=list(tokens)).delete()


def store_upload(session, *, owner, data: bytes, name: str, fmt: str, replace: bool) -> str:
    """Keep ``data`` until it is confirmed; returns the token the confirmation sends back.

    Kept in the database (any web host can confirm it), owned by ``owner``; the session
    records the token and the content's SHA-256, so a confirmation imports exactly what
    was previewed, and only in the session that uploaded it. Expired uploads of anybody
    (closed tabs, expired sessions) are deleted here.
    """
    now = timezone.now()
    PendingHistoryImport.objects.filter(expires_at__lt=now).delete()
    token = secrets.token_urlsafe(24)  # 32 characters
    digest = hashlib.sha256(data).hexdigest()
    PendingHistoryImport.objects.create(
        token=token,
        owner=owner,
        name=name[:200],
        fmt=fmt,
        replace=bool(replace),
        content=data,
        sha256=digest,
        created_at=now,
        expires_at=now + timedelta(seconds=PENDING_TTL_SECONDS),
    )
    pending = dict(session.get(SESSION_KEY, {}))
    pending[token] = {"sha256": digest, "created": time.time()}
    # Older previews of this session are dropped: only the latest few can be confirmed.
    old = sorted(pending, key=lambda t: pending[t]["created"])[:-MAX_PENDING_PER_SESSION]
    _remove(old)
    for token_ in old:
        del pending[token_]
    session[SESSION_KEY] = pending
    return token


def load_upload(session, token: str, *, owner) -> PendingUpload | None:
    """The upload ``token`` names, if this session stored it for ``owner``, intact and fresh."""
    meta = session.get(SESSION_KEY, {}).get(token) if isinstance(token, str) else None
    if meta is None or not _TOKEN.fullmatch(token):
        return None
    row = PendingHistoryImport.objects.filter(
        token=token, owner=owner, expires_at__gt=timezone.now()
    ).first()
    if row is None:
        return None
    data = bytes(row.content)
    if hashlib.sha256(data).hexdigest() != meta["sha256"] or row.sha256 != meta["sha256"]:
        return None
    return PendingUpload(token, row.name, row.fmt, row.replace, data)


def discard_upload(session, token: str) -> None:
    pending = dict(session.get(SESSION_KEY, {}))
    if pending.pop(token, None) is not None:
        session[SESSION_KEY] = pending
    if isinstance(token, str):
        _remove([token])
