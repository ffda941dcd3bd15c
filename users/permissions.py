"""The users app's permission names, defined once (views, admin and commands import them)."""

# The custom permission on User (Meta.permissions): write a user's sales history.
SALES_HISTORY_CODENAME = "change_sales_history"
CHANGE_SALES_HISTORY = f"users.{SALES_HISTORY_CODENAME}"
VIEW_USER = "users.view_user"
