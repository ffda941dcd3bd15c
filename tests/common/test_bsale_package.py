"""``from common.bsale import X`` still works for the names of the single module the package
replaced (code written against it, e.g. a branch merged later), resolved lazily."""

import importlib
import subprocess
import sys

import pytest

import common.bsale
from common.bsale import fast_path, links, parameters, payloads, resources, row_plans

MOVED = {
    "base_url": links,
    "MAX_INT": parameters,
    "parse_int": parameters,
    "parse_unix_date": parameters,
    "parse_unix_date_range": parameters,
    "unix_to_date": parameters,
    "detail_payload": payloads,
    "list_payload": payloads,
    "INTEGER": resources,
    "STATE": resources,
    "Attr": resources,
    "Relation": resources,
    "Resource": resources,
    "date_to_unix": resources,
    "datetime_to_unix": resources,
    "flag": resources,
    "Representation": row_plans,
}


@pytest.mark.parametrize("name", sorted(MOVED))
def test_old_names_are_the_modules_objects(name):
    assert getattr(common.bsale, name) is getattr(MOVED[name], name)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'convert_row'"):
        common.bsale.convert_row  # noqa: B018  (in fast_path: import it from there)
    assert fast_path.convert_row


def test_importing_a_submodule_first_imports_no_other():
    """common.authentication imports fast_path early, while common.errors is still loading."""
    code = (
        "import sys; import common.bsale.fast_path; "
        "print(sorted(m for m in sys.modules if m.startswith('common.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['common.bsale', 'common.bsale.fast_path']"
    assert importlib.import_module("common.bsale.fast_path") is fast_path
