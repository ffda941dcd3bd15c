"""The API's JSON parser: DRF's, but an object that repeats a key is a 400.

``{"history": [...], "history": []}`` would otherwise keep the last value silently: a
client bug (or a request built to slip past a check that reads the first) that writes
something other than what was meant. Refusing it costs one Python call per object.
"""

import codecs

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json


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


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            return json.load(
                codecs.getreader(encoding)(stream),
                parse_constant=json.strict_constant if self.strict else None,
                object_pairs_hook=_unique_keys,
            )
        except DuplicateKey as exc:
            key = exc.key.encode("utf-8", "backslashreplace").decode("utf-8")
            raise ParseError(
                f"The JSON body repeats the key '{key}' in one object; each key may appear once."
            ) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
