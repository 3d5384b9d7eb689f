"""A throwaway database for evaluations and benchmarks, so they never touch the real knowledge base."""

import contextlib
from collections.abc import Iterator

from django.conf import settings
from django.db import connections


@contextlib.contextmanager
def isolated_database(*, suffix: str) -> Iterator[str]:
    """Create ``<NAME>_<suffix>``, migrate it, point the default connection at it, and drop it afterwards."""
    from django.test.utils import setup_databases, teardown_databases  # noqa: PLC0415

    database = settings.DATABASES["default"]
    name = f"{database['NAME']}_{suffix}"
    database.setdefault("TEST", {})["NAME"] = name
    connections["default"].settings_dict.setdefault("TEST", {})["NAME"] = name
    old = setup_databases(verbosity=0, interactive=False, keepdb=False, aliases={"default"})
    try:
        yield name
    finally:
        from chat.concurrency import shutdown_worker_pool  # noqa: PLC0415
        from chat.feedback_services import answer_counts_write  # noqa: PLC0415

        # Answers still being recorded finish first, and the recording thread hands back its connection. Their
        # counts are written here, not by a timer that would fire once the default database is the real one again.
        shutdown_worker_pool()
        answer_counts_write()
        # Connections other code opened (servers, other libraries) would block DROP DATABASE.
        close_other_connections(database=name)
        teardown_databases(old, verbosity=0)


def close_other_connections(*, database: str) -> None:
    """End every other session on ``database`` (servers and libraries that opened their own), so that it can be
    dropped."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        )
