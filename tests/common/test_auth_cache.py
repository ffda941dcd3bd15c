"""The authentication cache (common.auth_cache): fewer queries, never a stale account.

Every test runs with the cache on, in local memory and in a real Redis (skipped when
none answers at TEST_REDIS_URL). The cross-process case, several gunicorn workers
sharing Redis while another process deactivates the account, is in tests/test_server.py.
"""

from __future__ import annotations

import os

import pytest
import redis
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import connection
from django.test import override_settings

from common import auth_cache
from tests.api_helpers import AUTH_QUERIES, assert_error, get, get_json
from tests.common.test_auth import bearer
from tests.conftest import READ_PERMS, token_for
from tests.factories import UserFactory
from users.models import User

# A Redis database of the tests' own: Django's RedisCache.clear() empties the whole of it.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
COUNT = "/v1/users/count.json"


def redis_answers(url: str = TEST_REDIS_URL) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def _switch_on(settings, backend: str) -> None:
    if backend == "redis":
        if not redis_answers():
            pytest.skip(f"no Redis at {TEST_REDIS_URL}")
        settings.CACHES = {
            "default": {
                "BACKEND": "common.cache.RedisCache",
                "LOCATION": TEST_REDIS_URL,
            }
        }
    settings.AUTH_CACHE_SECONDS = 30
    cache.clear()


@pytest.fixture(params=["locmem", "redis"])
def cache_on(request, settings):
    _switch_on(settings, request.param)
    yield request.param
    cache.clear()


@pytest.fixture
def client_of(cache_on, reader):
    """The reader's client, its entry already cached by one request."""
    client = bearer(token_for(reader))
    assert get_json(client, COUNT) == {"count": 1}
    return client


def assert_cached(client, django_assert_num_queries) -> None:
    # The count's one query only: the user and its permissions come from the cache.
    with django_assert_num_queries(1):
        assert get(client, COUNT).status_code == 200


def test_the_first_request_reads_the_database_the_next_ones_the_cache(
    cache_on, reader, django_assert_num_queries
):
    client = bearer(token_for(reader))
    # Authentication (one query: user and permissions), then the count.
    with django_assert_num_queries(AUTH_QUERIES + 1):
        get_json(client, COUNT)
    assert_cached(client, django_assert_num_queries)
    assert_cached(client, django_assert_num_queries)


def test_switched_off_every_request_reads_the_database(settings, reader, django_assert_num_queries):
    settings.AUTH_CACHE_SECONDS = 0
    client = bearer(token_for(reader))
    for _ in range(2):
        with django_assert_num_queries(AUTH_QUERIES + 1):
            get_json(client, COUNT)


# --- Every way an account loses access counts on the very next request --------------------


def test_deactivated_with_save(client_of, reader):
    reader.is_active = False
    reader.save(update_fields=["is_active"])
    assert_error(get(client_of, COUNT), 401)
    reader.is_active = True
    reader.save(update_fields=["is_active"])
    assert get(client_of, COUNT).status_code == 200


def test_deactivated_with_a_queryset_update(client_of, reader):
    assert User.objects.filter(pk=reader.pk).update(is_active=False) == 1
    assert_error(get(client_of, COUNT), 401)


def test_deactivated_with_bulk_update(client_of, reader):
    reader.is_active = False
    User.objects.bulk_update([reader], ["is_active"])
    assert_error(get(client_of, COUNT), 401)


def test_password_changed(client_of, reader):
    reader.set_password("a-brand-new-secret-42")
    reader.save()
    assert_error(get(client_of, COUNT), 401)


def test_deleted(client_of, reader):
    reader.delete()
    assert_error(get(client_of, COUNT), 401)


def test_own_permission_removed_and_given_back(client_of, reader):
    view_user = Permission.objects.get(codename="view_user")
    reader.user_permissions.remove(view_user)
    assert_error(get(client_of, COUNT), 403)
    reader.user_permissions.add(view_user)
    assert get(client_of, COUNT).status_code == 200


def test_permission_removed_from_the_permission_side(client_of, reader):
    Permission.objects.get(codename="view_user").user_set.remove(reader)
    assert_error(get(client_of, COUNT), 403)


def test_own_permissions_cleared(client_of, reader):
    reader.user_permissions.clear()
    assert_error(get(client_of, COUNT), 403)


@pytest.fixture
def group_member(cache_on, db):
    """A user whose only permissions come through a group, its entry cached."""
    group = Group.objects.create(name="readers")
    group.permissions.set(
        Permission.objects.filter(codename__in=[p.split(".")[1] for p in READ_PERMS])
    )
    user = UserFactory(office=None)
    user.groups.add(group)
    client = bearer(token_for(user))
    assert get(client, COUNT).status_code == 200
    return user, group, client


def test_group_lost_a_permission(group_member):
    _user, group, client = group_member
    group.permissions.remove(Permission.objects.get(codename="view_user"))
    assert_error(get(client, COUNT), 403)


def test_group_permissions_cleared_from_the_permission_side(group_member):
    _user, _group, client = group_member
    Permission.objects.get(codename="view_user").group_set.clear()
    assert_error(get(client, COUNT), 403)


def test_user_left_the_group(group_member):
    user, group, client = group_member
    user.groups.remove(group)
    assert_error(get(client, COUNT), 403)


def test_group_let_the_user_go(group_member):
    user, group, client = group_member
    group.user_set.remove(user)
    assert_error(get(client, COUNT), 403)


def test_group_deleted(group_member):
    _user, group, client = group_member
    group.delete()
    assert_error(get(client, COUNT), 403)


def test_superuser_flag_removed(cache_on, db):
    boss = UserFactory(office=None, is_superuser=True)
    client = bearer(token_for(boss))
    assert get(client, COUNT).status_code == 200
    boss.is_superuser = False
    boss.save()
    assert_error(get(client, COUNT), 403)


def test_other_users_entries_survive_a_user_save(cache_on, reader, django_assert_num_queries):
    client = bearer(token_for(reader))
    get_json(client, COUNT)
    UserFactory(office=None).save()  # someone else: the reader's entry stays valid
    assert_cached(client, django_assert_num_queries)


# --- This process's copies of the entries ----------------------------------------------------


def test_a_process_that_holds_the_entry_fetches_the_stamps_alone(redis_on, reader, monkeypatch):
    from common.cache import RedisCache

    fetched = []
    original = RedisCache.get_many_and_count

    def recording(self, keys, *args, **kwargs):
        fetched.append(list(keys))
        return original(self, keys, *args, **kwargs)

    monkeypatch.setattr(RedisCache, "get_many_and_count", recording)
    client = bearer(token_for(reader))
    get_json(client, COUNT)
    get_json(client, COUNT)
    stamps = [auth_cache.GLOBAL_STAMP_KEY, f"auth:stamp:{reader.pk}"]
    assert fetched == [[*stamps, f"auth:user:{reader.pk}"], stamps]


def test_a_copy_older_than_the_shared_entry_is_replaced_without_a_query(
    client_of, reader, django_assert_num_queries
):
    """Another process reloaded the user after a change: this one, still holding the copy
    from before, takes the shared entry instead of reading the database again."""
    before = auth_cache._local_entries[reader.pk]
    reader.first_name = "Renamed"
    reader.save(update_fields=["first_name"])
    get_json(client_of, COUNT)  # "the other process": reloads and shares the new entry
    auth_cache._local_entries[reader.pk] = before

    assert_cached(client_of, django_assert_num_queries)
    assert auth_cache._local_entries[reader.pk] != before


def test_a_copy_expires_with_the_shared_entry(client_of, reader, monkeypatch):
    with connection.cursor() as cursor:  # unseen by the stamps: only expiry ends the entry
        cursor.execute(
            f"UPDATE {User._meta.db_table} SET is_active = %s WHERE id = %s", [False, reader.pk]
        )
    assert get(client_of, COUNT).status_code == 200
    later = auth_cache.time.time() + 31
    monkeypatch.setattr(auth_cache.time, "time", lambda: later)
    assert_error(get(client_of, COUNT), 401)


def test_each_request_gets_values_of_its_own(client_of, reader):
    """A kept snapshot is shared; the users built from it are not."""
    from common.authentication import user_with_permissions

    reader.additional_data = {"tags": ["a"]}
    reader.save(update_fields=["additional_data"])
    first, second = user_with_permissions(reader.pk), user_with_permissions(reader.pk)
    first.additional_data["tags"].append("changed by one request")
    assert second.additional_data == {"tags": ["a"]}
    assert user_with_permissions(reader.pk).additional_data == {"tags": ["a"]}


def test_a_user_built_again_is_the_orms_user_with_nothing_shared(reader):
    from common.authentication import _UserQuery

    query = _UserQuery(connection)
    snapshot = query.load(connection, reader.pk)
    first, second = query.build(snapshot, connection), query.build(snapshot, connection)
    orm = User.objects.get(pk=reader.pk)
    for user in (first, second):
        assert type(user) is User and user == orm
        assert {f.attname: getattr(user, f.attname) for f in User._meta.concrete_fields} == {
            f.attname: getattr(orm, f.attname) for f in User._meta.concrete_fields
        }
        assert (user._state.db, user._state.adding) == (orm._state.db, False)
        assert user.has_perms(READ_PERMS) and not user.has_perm("users.delete_user")
    assert second._state is not first._state
    assert second._perm_cache is not first._perm_cache
    assert second.payment_data is not first.payment_data

    User.objects.filter(pk=reader.pk).update(first_name="Renamed")
    renamed = query.build(query.load(connection, reader.pk), connection)
    assert renamed.first_name == "Renamed"  # a new snapshot: a new template
    assert len(query._built) == 1  # one per user, however many snapshots


# --- Races and the limits -----------------------------------------------------------------


def test_an_entry_loaded_before_the_commit_is_stale_after_it(
    cache_on, reader, django_capture_on_commit_callbacks
):
    """A request that read the row before the deactivation committed cached the old row
    under the new stamp; the stamp renewed at commit makes that entry stale."""
    client = bearer(token_for(reader))
    get_json(client, COUNT)
    from common.authentication import _queries

    query = _queries[(connection.alias, connection.vendor)]
    before = query.load(connection, reader.pk)  # the row as a concurrent request saw it
    with django_capture_on_commit_callbacks(execute=True):
        reader.is_active = False
        reader.save(update_fields=["is_active"])
        # That request stores what it read, under the stamps it read: the new ones.
        auth_cache.cached(reader.pk, lambda pk: before)
    assert_error(get(client, COUNT), 401)


def test_raw_sql_bypasses_django_so_the_entry_lives_until_it_expires(client_of, reader):
    """The documented limit: an UPDATE outside Django sends nothing to invalidate."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {User._meta.db_table} SET is_active = %s WHERE id = %s", [False, reader.pk]
        )
    assert get(client_of, COUNT).status_code == 200  # still cached...
    auth_cache.invalidate(user_pks=[reader.pk])  # ...until it expires or is invalidated
    assert_error(get(client_of, COUNT), 401)


def test_an_unreachable_cache_falls_back_to_the_database(
    settings, reader, django_assert_num_queries, caplog
):
    settings.AUTH_CACHE_SECONDS = 30
    settings.API_THROTTLE_RATE = None
    unreachable = {
        "default": {
            "BACKEND": "common.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: nobody answers
        }
    }
    client = bearer(token_for(reader))
    # Scoped, so that conftest's cache.clear() afterwards finds the working cache.
    with override_settings(CACHES=unreachable):
        with django_assert_num_queries(AUTH_QUERIES + 1):
            get_json(client, COUNT)
        reader.is_active = False
        reader.save(update_fields=["is_active"])  # the save does not fail either
        assert_error(get(client, COUNT), 401)
    assert "Authentication cache unavailable" in caplog.text


# --- The rate count travels with the authentication's round trip (Redis) -------------------


@pytest.fixture
def redis_on(settings):
    """Redis only: the shared round trip is common.cache.RedisCache's."""
    _switch_on(settings, "redis")
    yield
    cache.clear()


def test_a_cached_request_makes_one_round_trip_to_redis(redis_on, reader, monkeypatch):
    from common.cache import RedisCache

    trips = []
    for name in ("get_many_and_count", "get", "get_many", "set", "add", "incr", "decr"):
        original = getattr(RedisCache, name)

        def counted(self, *args, _name=name, _original=original, **kwargs):
            trips.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(RedisCache, name, counted)
    client = bearer(token_for(reader))
    get_json(client, COUNT)  # loads the entry
    trips.clear()
    get_json(client, COUNT)
    # The stamps, the entry and the rate count together: one script, nothing else.
    assert trips == ["get_many_and_count"]


def test_the_database_health_check_runs_while_redis_answers(redis_on, reader, monkeypatch):
    from common.cache import RedisCache

    order = []
    original_round_trip = RedisCache._round_trip

    def round_trip(self, names, timeout, while_waiting):
        order.append("redis sent")
        reply = original_round_trip(self, names, timeout, while_waiting)
        order.append("redis read")
        return reply

    monkeypatch.setattr(RedisCache, "_round_trip", round_trip)
    check = connection.close_if_health_check_failed
    monkeypatch.setattr(
        connection, "close_if_health_check_failed", lambda: order.append("health check") or check()
    )
    client = bearer(token_for(reader))
    get_json(client, COUNT)
    order.clear()
    get_json(client, COUNT)
    assert order[:3] == ["redis sent", "health check", "redis read"]


def test_the_limit_holds_when_authentication_counts(redis_on, settings, reader):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "3/60s"},
    }
    client = bearer(token_for(reader))
    assert [get(client, COUNT).status_code for _ in range(3)] == [200, 200, 200]
    refused = get(client, COUNT)
    assert_error(refused, 429)
    assert int(refused["Retry-After"]) >= 1
    # Refused requests do not count; another client has a budget of its own.
    other = UserFactory(office=None, is_superuser=True)
    assert get(bearer(token_for(other)), COUNT).status_code == 200


# --- Writes the m2m signals never see: through models' querysets, cascades, renames --------

_UserPerms = User.user_permissions.through
_UserGroups = User.groups.through
_GroupPerms = Group.permissions.through


def _view_user() -> Permission:
    return Permission.objects.get(content_type__app_label="users", codename="view_user")


REVOCATIONS = {
    "user permission: through queryset delete": lambda user, group: _UserPerms.objects.filter(
        user=user, permission=_view_user()
    ).delete(),
    "user permission: through queryset update": lambda user, group: _UserPerms.objects.filter(
        user=user, permission=_view_user()
    ).update(permission=Permission.objects.get(codename="add_user")),
    "group permission: through queryset delete": lambda user, group: _GroupPerms.objects.filter(
        group=group, permission=_view_user()
    ).delete(),
    "group permissions: clear": lambda user, group: group.permissions.clear(),
    "user groups: through queryset delete": lambda user, group: _UserGroups.objects.filter(
        user=user
    ).delete(),
    "user groups: through raw delete": lambda user, group: _UserGroups.objects.filter(
        group=group
    )._raw_delete(_UserGroups.objects.db),
    "group deleted": lambda user, group: group.delete(),
    "group deleted with a queryset": lambda user, group: Group.objects.filter(pk=group.pk).delete(),
    "permission deleted": lambda user, group: _view_user().delete(),
    "permission renamed with a queryset": lambda user, group: Permission.objects.filter(
        pk=_view_user().pk
    ).update(codename="view_user_renamed"),
}


@pytest.mark.parametrize("revoke", list(REVOCATIONS), ids=list(REVOCATIONS))
def test_revoked_through_the_tables_counts_at_once(cache_on, db, revoke):
    group = Group.objects.create(name="readers")
    group.permissions.add(_view_user())
    by_group = UserFactory(office=None)
    by_group.groups.add(group)
    own = UserFactory(office=None)
    own.user_permissions.add(_view_user())
    clients = {who: bearer(token_for(who)) for who in (by_group, own)}
    for client in clients.values():
        assert get(client, COUNT).status_code == 200  # now cached
    user = own if revoke.startswith("user permission") else by_group
    REVOCATIONS[revoke](user, group)
    assert_error(get(clients[user], COUNT), 403)


@pytest.mark.parametrize("how", ["user permissions", "user groups", "group permissions"])
def test_granted_with_bulk_create_counts_at_once(cache_on, db, how):
    group = Group.objects.create(name="readers")
    user = UserFactory(office=None)
    client = bearer(token_for(user))
    assert_error(get(client, COUNT), 403)  # cached without the permission
    if how == "user permissions":
        _UserPerms.objects.bulk_create([_UserPerms(user=user, permission=_view_user())])
    elif how == "user groups":
        group.permissions.add(_view_user())
        assert_error(get(client, COUNT), 403)
        _UserGroups.objects.bulk_create([_UserGroups(user=user, group=group)])
    else:
        user.groups.add(group)
        assert_error(get(client, COUNT), 403)
        _GroupPerms.objects.bulk_create([_GroupPerms(group=group, permission=_view_user())])
    assert get(client, COUNT).status_code == 200


def test_reads_and_other_writes_leave_the_entries_alone(client_of, reader, monkeypatch):
    calls = []
    monkeypatch.setattr(auth_cache, "invalidate", lambda **kw: calls.append(kw))
    list(Permission.objects.all())
    list(_UserPerms.objects.all())
    UserFactory.build(office=None)
    from tests.factories import OfficeFactory

    OfficeFactory()
    assert calls == []
