from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = _("Users")

    def ready(self) -> None:
        # Cached authentication entries go stale when a user, its groups or its
        # permissions change (common.auth_cache).
        from django.contrib.auth.models import Group, Permission
        from django.db import connections
        from django.db.backends.signals import connection_created
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from common import auth_cache

        user_model = self.get_model("User")
        for signal in (post_save, post_delete):
            signal.connect(auth_cache.user_changed, sender=user_model, dispatch_uid="auth-user")
            for model in (Group, Permission):
                signal.connect(
                    auth_cache.all_changed, sender=model, dispatch_uid=f"auth-{model.__name__}"
                )
        for through in (user_model.groups.through, user_model.user_permissions.through):
            m2m_changed.connect(
                auth_cache.user_relations_changed,
                sender=through,
                dispatch_uid=f"auth-{through.__name__}",
            )
        m2m_changed.connect(
            auth_cache.all_changed,
            sender=Group.permissions.through,
            dispatch_uid="auth-group-perms",
        )
        # Writes the signals miss (a through model's QuerySet.delete(), bulk_create(),
        # update(); a cascade's fast delete): seen on the connection itself.
        connection_created.connect(
            auth_cache.watch_permission_tables, dispatch_uid="auth-permission-tables"
        )
        for connection in connections.all(initialized_only=True):
            auth_cache.watch_permission_tables(connection=connection)
