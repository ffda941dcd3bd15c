"""Resource declarations: JSON key -> ORM column, relations to other resources, converters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# OpenAPI schemas for attributes whose converter does not imply one (see common.openapi).
INTEGER = {"type": "integer"}
STATE = {"type": "integer", "enum": [0, 1], "description": "0 active, 1 inactive."}


def date_to_unix(value: dt.date) -> int:
    """A date as Bsale sends it: Unix seconds of 00:00 UTC that day."""
    return (value - dt.date(1970, 1, 1)).days * 86400


def datetime_to_unix(value: dt.datetime) -> int:
    return int(value.timestamp())


def flag(value: Any) -> int:
    """Bsale's booleans are 0/1."""
    return 1 if value else 0


@dataclass(frozen=True)
class Attr:
    """JSON ``key`` read from the ORM ``column`` through ``convert`` (not called for NULL)."""

    key: str
    column: str
    convert: Callable[[Any], Any] | None = None
    # OpenAPI: the JSON schema when the converter does not imply it (default string).
    schema: dict | None = None
    nullable: bool = False


@dataclass(frozen=True)
class Relation:
    """A to-one relation: ``key`` (snake_case) via the ORM foreign key ``column``."""

    key: str
    column: str
    resource_name: str

    @property
    def resource(self) -> Resource:
        return RESOURCES[self.resource_name]


RESOURCES: dict[str, Resource] = {}


@dataclass
class Resource:
    """A Bsale resource, served at ``/v1/<path>/<id>.json``."""

    name: str
    attributes: list[Attr]
    relations: list[Relation] = field(default_factory=list)
    path: str = ""  # when it differs from ``name``
    # The view permissions showing an object needs, checked for every expanded resource too.
    permissions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.path = self.path or self.name
        RESOURCES[self.name] = self
        self.attr_by_lower = {a.key.lower(): a for a in self.attributes}
        self.relation_by_lower = {r.key.lower(): r for r in self.relations}

    @property
    def keys(self) -> list[str]:
        return [a.key for a in self.attributes] + [r.key for r in self.relations]
