"""A lock shared by every process of the deployment, held for one transaction (PostgreSQL advisory locks)."""

import contextlib
from collections.abc import Iterator

from django.db import connection, transaction


@contextlib.contextmanager
def locked_transaction(*, key: int) -> Iterator[None]:
    """A transaction in which this process alone, of every process using the database, holds ``key``."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
        yield
