"""Create the local admin account once and say how to log in."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a superuser (ADMIN_USERNAME / ADMIN_PASSWORD, or a generated password) unless one exists."

    def handle(self, *args, **options) -> None:
        user_model = get_user_model()
        username = os.environ.get("ADMIN_USERNAME", "admin")
        if user_model.objects.filter(is_superuser=True).exists():
            self.stdout.write("Admin: log in at http://127.0.0.1:8000/admin/ with your existing superuser.")
            return
        password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user_model.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(
            self.style.SUCCESS(
                f"Admin account created: log in at http://127.0.0.1:8000/admin/ as {username!r} "
                f"with password {password!r} (shown once; change it in the admin)."
            )
        )
