"""Start, stop or check the embedded PostgreSQL server (used when DATABASE_URL is not set)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from chatbot_site.embedded_postgres.server import ensure_server, is_running, stop_server


class Command(BaseCommand):
    help = "Manage the embedded PostgreSQL server: status, start or stop."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["status", "start", "stop"])

    def handle(self, *args, action: str, **options) -> None:
        if settings.DATABASE_URL:
            raise CommandError("DATABASE_URL is set, so the embedded PostgreSQL is not used.")
        data_dir = Path(settings.EMBEDDED_POSTGRES_DIR)
        if action == "start":
            socket_dir = ensure_server(data_dir=data_dir, database=settings.DATABASES["default"]["NAME"])
            self.stdout.write(f"Embedded PostgreSQL is running (socket in {socket_dir}).")
        elif action == "stop":
            stopped = stop_server(data_dir=data_dir)
            self.stdout.write(
                "Stopped the embedded PostgreSQL." if stopped else "The embedded PostgreSQL was not running."
            )
        else:
            self.stdout.write("running" if is_running(data_dir) else "stopped")
