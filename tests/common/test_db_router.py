"""Read replicas (common.db_router): the API's GETs read a healthy replica; writes, reads
after a write, the admin and commands read the primary; a replica that is down, lags or
fails mid-request is skipped without a 5xx.

The replica alias is added here, not in settings: ``replica_alias`` shares the test
database's connection (what Django's TEST MIRROR means, inside the test's transaction),
``dead_alias`` points at a database that cannot be opened. The real streaming standby is
exercised by tests/deploy/test_multi_host.py.
"""

from __future__ import annotations

import copy
import socket

import pytest
from django.db import connections
from django.db.utils import load_backend

from common import db_router
from users.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def replica_alias(settings):
    alias = "replica_test"
    connections[alias] = connections["default"]  # the same connection: the same data
    settings.DATABASE_REPLICAS = [alias]
    db_router.reset_health()
    yield alias
    del connections[alias]  # never close the shared connection
    db_router.reset_health()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dead_alias(settings, tmp_path):
    alias = "replica_dead"
    config = copy.deepcopy(connections["default"].settings_dict)
    if config["ENGINE"].endswith("postgresql"):
        config.update(HOST="127.0.0.1", PORT=str(_free_port()), CONN_MAX_AGE=0)
        config["OPTIONS"] = {**config.get("OPTIONS", {}), "connect_timeout": 2}
    else:
        config.update(NAME=str(tmp_path / "missing" / "db.sqlite3"))
    # A connection of its own, not in settings.DATABASES (the test case allows those).
    connections[alias] = load_backend(config["ENGINE"]).DatabaseWrapper(config, alias)
    settings.DATABASE_REPLICAS = [alias]
    db_router.reset_health()
    yield alias
    connections[alias].close()
    del connections[alias]
    db_router.reset_health()


@pytest.fixture
def reads(monkeypatch):
    """The aliases the router answers for reads, in order (the real router decides)."""
    answered: list[str] = []
    real = db_router.PrimaryReplicaRouter.db_for_read

    def recording(self, model, **hints):
        alias = real(self, model, **hints)
        answered.append(alias)
        return alias

    monkeypatch.setattr(db_router.PrimaryReplicaRouter, "db_for_read", recording)
    return answered


def test_the_apis_gets_read_the_replica(auth_client, reader, replica_alias, reads):
    response = auth_client.get("/v1/users.json")
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert reads and set(reads) == {replica_alias}


def test_the_admin_reads_the_primary(staff_client, replica_alias, reads):
    assert staff_client.get("/admin/users/user/").status_code == 200
    assert reads and set(reads) == {"default"}


def test_a_write_sends_the_rest_of_the_request_to_the_primary(replica_alias):
    router = db_router.PrimaryReplicaRouter()
    token = db_router._routing.set(db_router.RequestRouting(replica_allowed=True))
    try:
        assert router.db_for_read(User) == replica_alias
        assert router.db_for_write(User) == "default"
        assert router.db_for_read(User) == "default"  # it must see what it wrote
    finally:
        db_router._routing.reset(token)


def test_outside_a_request_everything_reads_the_primary(replica_alias):
    # Management commands, jobs, the shell: no request routing, no replica.
    router = db_router.PrimaryReplicaRouter()
    assert router.db_for_read(User) == "default"
    assert router.allow_migrate(replica_alias, "users") is False
    assert router.allow_migrate("default", "users") is True


def test_a_post_reads_the_primary(auth_client, replica_alias, reads):
    # A write method never reads a replica, even for the reads before its first write.
    auth_client.post("/v1/users.json", {}, format="json")
    assert set(reads) <= {"default"}


def test_a_replica_that_is_down_is_skipped(auth_client, reader, dead_alias, reads):
    response = auth_client.get("/v1/users.json")
    assert response.status_code == 200 and response.json()["count"] == 1
    assert set(reads) == {"default"}
    assert db_router._health[dead_alias][1] is False  # remembered: not tried again at once


def test_a_replica_failing_mid_request_is_retried_on_the_primary(
    auth_client, reader, dead_alias, reads
):
    # The cached verdict says healthy; the first query finds it is not.
    db_router._health[dead_alias] = (float("inf"), True)
    response = auth_client.get("/v1/users.json")
    assert response.status_code == 200 and response.json()["count"] == 1
    assert dead_alias in reads and reads[-1] == "default"
    assert db_router._health[dead_alias][1] is False


def test_a_replica_too_far_behind_is_skipped(auth_client, reader, replica_alias, reads, settings):
    settings.REPLICA_MAX_LAG_SECONDS = -1  # any replica is "too far behind"
    assert auth_client.get("/v1/users.json").status_code == 200
    assert set(reads) == {"default"}


def test_no_replica_configured_means_no_routing_at_all(auth_client, reader, reads, settings):
    settings.DATABASE_REPLICAS = []
    assert auth_client.get("/v1/users.json").status_code == 200
    assert set(reads) == {"default"}


def test_the_replica_lag_query_runs_on_this_database(replica_alias):
    # On PostgreSQL the real query runs (a primary is never behind); SQLite reports 0.
    assert db_router._lag_seconds(replica_alias) == 0.0
    assert db_router.replica_is_healthy(replica_alias) is True


def test_a_request_keeps_to_one_replica(replica_alias, settings):
    # Two replicas: a request's queries all read the one picked first (one consistent state).
    connections["replica_other"] = connections["default"]
    settings.DATABASE_REPLICAS = [replica_alias, "replica_other"]
    router = db_router.PrimaryReplicaRouter()
    try:
        picked = set()
        for _ in range(20):
            token = db_router._routing.set(db_router.RequestRouting(replica_allowed=True))
            try:
                first = router.db_for_read(User)
                assert {router.db_for_read(User) for _ in range(10)} == {first}
                picked.add(first)
            finally:
                db_router._routing.reset(token)
        assert picked == {replica_alias, "replica_other"}  # spread over requests
    finally:
        del connections["replica_other"]
