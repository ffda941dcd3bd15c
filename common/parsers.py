"""The API's JSON parser: every hostile body is a 400, never a 500 (docs/security.md).

orjson (strict UTF-8, no NaN, no overflowing numbers, its own depth limit), then refused:
nesting deeper than ``MAX_JSON_DEPTH``, a NUL in any key or string (PostgreSQL text cannot
hold it), and an object repeating a key (the last would win silently).
"""

from __future__ import annotations

import json
import math
import re

import orjson
from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 32
NUL_MESSAGE = "must not contain NUL characters"
_NUL_ESCAPE = b"\\u0000"


def _deepest_container(data, limit: int) -> bool:
    """True when ``data`` nests lists/objects deeper than ``limit`` (iterative: no stack)."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return result


def _refuse_duplicate_keys(raw: bytes) -> None:
    """orjson keeps the last of repeated keys silently; Python's parser (depth bounded) tells."""
    try:
        json.loads(raw.decode("utf-8", "surrogatepass"), object_pairs_hook=_unique_keys)
    except DuplicateKey as exc:
        key = exc.key.encode("utf-8", "backslashreplace").decode("utf-8")
        raise ParseError(
            f"The JSON body repeats the key '{key}' in one object; each key may appear once."
        ) from None
    except ValueError:
        pass  # orjson accepted it: nothing else to refuse here


def _nul_path(data) -> str | None:
    """Where the first NUL is, as the API names fields (``history[1].nit``), or None."""
    pending = [(data, "")]
    while pending:
        value, path = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return path or "body"
        elif isinstance(value, dict):
            for key, child in value.items():
                name = f"{path}.{key}" if path else key
                if "\x00" in key:
                    return name.replace("\x00", "\\u0000")
                pending.append((child, name))
        elif isinstance(value, list):
            pending.extend((child, f"{path}[{index}]") for index, child in enumerate(value))
    return None


_ASCII_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number is infinity when parsed as double")
    return value


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _parse_keeping_surrogates(raw: bytes):
    """Valid JSON whose only fault for orjson is an escaped lone surrogate: Python reads it,
    so the views name the field at fault (its recursion limit is a 400 too)."""
    try:
        return json.loads(raw.decode("utf-8"), parse_float=_finite, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        reason = str(exc).split(":", 1)[0] or type(exc).__name__
        raise ParseError(f"The request body is not valid JSON ({reason}).") from None


def parse_json(raw: bytes, *, encoding: str = "utf-8"):
    """``raw`` as JSON, or ``ParseError`` (a 400) saying what is wrong with it."""
    if encoding.lower().replace("_", "-") not in {"utf-8", "utf8"}:
        try:
            raw = raw.decode(encoding).encode("utf-8")
        except (UnicodeError, LookupError):
            raise ParseError(f"The request body is not valid {encoding} text.") from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        reason = str(exc).split(":", 1)[0]
        if "surrogate" not in reason or not _ASCII_SURROGATE.search(raw):
            raise ParseError(f"The request body is not valid JSON ({reason}).") from None
        data = _parse_keeping_surrogates(raw)
    if not isinstance(data, dict | list):
        return data
    # A cheap upper bound first: fewer brackets than the limit cannot nest deeper.
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and _deepest_container(
        data, MAX_JSON_DEPTH
    ):
        raise ParseError(f"The request body nests JSON deeper than {MAX_JSON_DEPTH} levels.")
    if b"{" in raw:
        _refuse_duplicate_keys(raw)
    if _NUL_ESCAPE in raw and (path := _nul_path(data)) is not None:
        # Imported here: common.errors imports DRF's views, which import this parser.
        from common.errors import InvalidInput

        raise InvalidInput(f"Invalid {path}: {NUL_MESSAGE}.", {path: [NUL_MESSAGE]})
    return data


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with ``parse_json`` underneath (see the module's docstring)."""

    def parse(self, stream, media_type=None, parser_context=None):
        # DRF's check: a text charset from the Content-Type, never a bytes codec (bz2...).
        encoding = parsers.get_encoding(parser_context or {})
        raw = stream.read() if stream is not None else b""
        return parse_json(raw, encoding=encoding)
