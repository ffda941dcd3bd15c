import pytest

from tests.mirror.sources import serve_source


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A seeded instance of this app served by gunicorn: the Bsale account to mirror."""
    with serve_source(tmp_path_factory.mktemp("bsale-source")) as running:
        yield running
