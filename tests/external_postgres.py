"""Run pytest against a PostgreSQL server of its own on a TCP port (DATABASE_URL), not the embedded one.

    python -m tests.external_postgres [pytest arguments]

`make test` runs the database tests this way after the main suite, so both ways of reaching PostgreSQL are tested.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.servers import StandalonePostgres


def main(arguments: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="external-postgres-") as directory:
        os.chmod(directory, 0o755)  # the server may run as its own system user
        postgres = StandalonePostgres(directory=Path(directory))
        postgres.start()
        try:
            postgres.create_database("chatbot")
            env = {**os.environ, "DATABASE_URL": postgres.url("chatbot")}
            return subprocess.run([sys.executable, "-m", "pytest", *arguments], env=env).returncode
        finally:
            postgres.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
