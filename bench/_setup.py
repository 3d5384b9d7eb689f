"""Set up Django for a benchmark script run from the project root."""

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared" / "data" / "squad" / "squad-v1.1-dev-half-a.json"

# Questions the demo guide answers, asked by the load benchmarks.
GUIDE_QUESTIONS = [
    "How do I add a document?",
    "What formats can I upload?",
    "How does streaming work?",
    "When should I switch to Redis?",
    "What does the evidence check do?",
    "How are documents split?",
    "What happens when the language model is down?",
    "How do I use my own PostgreSQL server?",
]
# Throttles out of the way, for load runs from one address.
UNTHROTTLED = {
    "CHAT_THROTTLE_IP": "1000000/min",
    "CHAT_THROTTLE_SESSION": "1000000/min",
    "CHAT_THROTTLE_SESSION_CREATE": "1000000/min",
}


def setup() -> None:
    """Import path, settings and django.setup()."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    import django

    django.setup()


# The demo guide's ingest, as `make run` loads it.
GUIDE_INGEST = ("ingest", str(ROOT / "docs" / "guide"), "--no-progress")


def manage(*arguments: str, python: str, code: Path, database: str, env: dict[str, str] | None = None) -> None:
    """Run ``python manage.py <arguments>`` in the project at ``code`` against the embedded PostgreSQL's
    ``database``, with ``env`` added to the environment; a failure raises subprocess.CalledProcessError."""
    import subprocess  # noqa: PLC0415

    from django.conf import settings  # noqa: PLC0415

    where = {"EMBEDDED_POSTGRES_DB": database, "EMBEDDED_POSTGRES_DIR": str(settings.EMBEDDED_POSTGRES_DIR)}
    subprocess.run(
        [python, "manage.py", *arguments],
        cwd=code, env={**os.environ, **where, **(env or {})}, check=True, capture_output=True,
    )  # fmt: skip


@contextlib.contextmanager
def guide_database(*, suffix: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """A throwaway database holding the demo guide, the knowledge base `make run` serves; yields its name.

    With ``env``, the guide is ingested by a `manage.py ingest` run with those environment variables (another
    embedding runtime, say), so a server started with the same variables finds an index of its own model."""
    from django.core.management import call_command  # noqa: PLC0415

    from chatbot_site.isolated_db import isolated_database  # noqa: PLC0415

    with isolated_database(suffix=suffix) as database:
        if env:
            manage(*GUIDE_INGEST, python=sys.executable, code=ROOT, database=database, env=env)
        else:
            call_command(*GUIDE_INGEST)
        yield database


@contextlib.contextmanager
def baseline_guide_database(tree: Path, *, suffix: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """A throwaway database holding the demo guide as the code at ``tree`` (a baseline's worktree) migrates and
    ingests it, with that code's packages: an older revision's schema is not this one's. Yields its name."""
    from django.conf import settings  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415

    from chatbot_site.isolated_db import close_other_connections  # noqa: PLC0415

    name = f"{settings.DATABASES['default']['NAME']}_{suffix}"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    python = baseline_python(tree)
    try:
        for arguments in (("migrate", "--no-input"), GUIDE_INGEST):
            manage(*arguments, python=python, code=tree, database=name, env=env)
        yield name
    finally:
        close_other_connections(database=name)
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


@contextlib.contextmanager
def worktree(rev: str) -> Iterator[Path]:
    """The project at git revision ``rev``, checked out in a temporary folder (a baseline's code)."""
    import subprocess  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        tree = Path(folder) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev], check=True, capture_output=True
        )
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


def baseline_python(tree: Path) -> str:
    """A Python interpreter for the code at ``tree`` (a baseline's worktree): this environment's packages, with
    what the tree's requirements.txt pins differently or adds installed over them (an older revision may need a
    package this one dropped, as dj-database-url before django-environ). The environment is kept under
    var/bench-baselines/, one per requirements file, and reused; with nothing to add, it is this interpreter."""
    import hashlib  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sysconfig  # noqa: PLC0415

    requirements = tree / "requirements.txt"
    ours = ROOT / "requirements.txt"
    if not requirements.exists() or requirements.read_bytes() == ours.read_bytes():
        return sys.executable
    folder = ROOT / "var" / "bench-baselines" / hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    python = folder / "bin" / "python"
    ready = folder / ".installed"
    if not ready.exists():
        print(f"preparing the baseline's packages in {folder.relative_to(ROOT)} (once)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
        site = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        # This environment's packages come after the baseline's own, so what it pins differently wins.
        (Path(site) / "_project_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(requirements)],
            check=True,
        )
        ready.touch()
    return str(python)


def baseline_json(rev: str, *, script: str, args: list[str]) -> Any:
    """Run ``script`` with ``args`` in the project at git revision ``rev`` (a temporary worktree, its working
    directory; the embedded PostgreSQL shared; its own requirements, see baseline_python) and read the last line
    it printed as JSON. A failed run raises subprocess.CalledProcessError."""
    import json  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    from django.conf import settings  # noqa: PLC0415

    with worktree(rev) as tree:
        env = {**os.environ, "EMBEDDED_POSTGRES_DIR": str(settings.EMBEDDED_POSTGRES_DIR)}
        done = subprocess.run(
            [baseline_python(tree), script, *args], env=env, cwd=tree, check=True, capture_output=True, text=True
        )
        return json.loads(done.stdout.splitlines()[-1])


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A plain-text table."""
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def mean_sd(values: list[float]) -> str:
    """A mean with the standard deviation of the values (across folds, in the quality tables)."""
    import statistics  # noqa: PLC0415

    if len(values) < 2:
        return f"{values[0]:.3f}" if values else "-"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def best_ms(run: Callable[[], object], *, times: int = 5) -> float:
    """The fastest of ``times`` runs of ``run``, in milliseconds."""
    timings = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return min(timings)


def write_file(root: Path, name: str, text: str) -> Path:
    """Write ``text`` to ``root/name`` (its folders made), for a book built in a temporary folder."""
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
