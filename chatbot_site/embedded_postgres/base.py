"""Django's PostgreSQL backend, pointed at the embedded server, which it starts when it first connects."""

from pathlib import Path

from django.db.backends.postgresql.base import DatabaseWrapper as PostgresDatabaseWrapper

from .server import ensure_server


class DatabaseWrapper(PostgresDatabaseWrapper):
    """Connects through the embedded server's Unix socket; ``OPTIONS['data_dir']`` names its data directory."""

    def get_connection_params(self):
        options = dict(self.settings_dict["OPTIONS"])
        data_dir = Path(options.pop("data_dir"))
        settings_dict = {
            **self.settings_dict,
            "OPTIONS": options,
            "HOST": ensure_server(data_dir=data_dir, database=self.settings_dict["NAME"]),
        }
        original, self.settings_dict = self.settings_dict, settings_dict
        try:
            return super().get_connection_params()
        finally:
            self.settings_dict = original
