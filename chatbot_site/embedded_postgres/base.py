"""Django's PostgreSQL backend, pointed at the embedded server, which it starts when it first connects."""

from pathlib import Path

from django.conf import settings
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresDatabaseWrapper

from .server import ensure_server, is_running


class DatabaseWrapper(PostgresDatabaseWrapper):
    """Connects through the embedded server's Unix socket; ``OPTIONS['data_dir']`` names its data directory.

    With EMBEDDED_POSTGRES_AUTOSTART (the default) a stopped server is started again on the next connection,
    so the API recovers by itself; without it a stopped server is an outage (503 database_unavailable).
    """

    def get_connection_params(self):
        options = dict(self.settings_dict["OPTIONS"])
        data_dir = Path(options.pop("data_dir"))
        if not settings.EMBEDDED_POSTGRES_AUTOSTART and not is_running(data_dir):
            raise self.Database.OperationalError("The embedded PostgreSQL is not running.")
        host = ensure_server(data_dir=data_dir, database=self.settings_dict["NAME"])
        original = self.settings_dict
        self.settings_dict = {**original, "OPTIONS": options, "HOST": host}
        try:
            return super().get_connection_params()
        finally:
            self.settings_dict = original
