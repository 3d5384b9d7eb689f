"""The scale-out shape the docs recommend, for real: a PostgreSQL server of its own on a TCP port (DATABASE_URL),
a real redis-server, two server processes with SESSION_BACKEND=redis and two ingestion workers."""

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import psycopg
import pytest

from tests.chat.corpus import CORPUS
from tests.servers import PROJECT_ROOT, AppServer, OpenAIServer, RedisServer, StandalonePostgres, llm_env

pytestmark = [pytest.mark.slow]

WORKER_ENV = {"KNOWLEDGE_WORKER_HEARTBEAT_SECONDS": "0.5", "KNOWLEDGE_WORKER_STALE_SECONDS": "3"}
# A document long enough to be caught mid-indexing: a few hundred passages to embed.
BIG = "# Almanac\n\n" + "".join(
    f"## Entry {n}\n\nThe almanac entry number {n} records the tide, the wind and the harvest of that year.\n\n"
    for n in range(400)
)


def wait_until(check, *, seconds: float = 120, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def post(url: str, body: dict, **headers) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    directory = tmp_path_factory.mktemp("scale-out")
    postgres = StandalonePostgres(directory=directory)
    postgres.start()
    postgres.create_database("scaleout")
    redis = RedisServer(directory=directory)
    redis.start()
    model = OpenAIServer()
    model.start()
    env = {
        **llm_env(model),
        **WORKER_ENV,
        "DATABASE_URL": postgres.url("scaleout"),
        "SESSION_BACKEND": "redis",
        "REDIS_URL": redis.url,
        "CHAT_THROTTLE_SESSION": "10000/min",
    }
    project = {**AppServer(database="unused", env=env).env}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=PROJECT_ROOT, env=project, check=True)
    workers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "ingestion_worker", "--interval", "0.2"],
            cwd=PROJECT_ROOT,
            env=project,
            stdout=open(directory / f"worker{n}.log", "wb"),  # noqa: SIM115 - the worker holds it
            stderr=subprocess.STDOUT,
        )
        for n in range(2)
    ]
    servers = [AppServer(database="unused", env=env, log=directory / f"server{n}.log") for n in range(2)]
    for server in servers:
        server.start()
    database = psycopg.connect(postgres.url("scaleout"), autocommit=True)
    try:
        yield {"servers": servers, "workers": workers, "db": database, "env": project, "model": model.state}
    finally:
        database.close()
        for server in servers:
            server.crash()
        for worker in workers:
            worker.kill()
            worker.wait(timeout=10)
        model.stop()
        redis.stop()
        postgres.stop()


def upload(cluster, documents: dict[str, str]) -> None:
    """Documents saved and queued as the admin does, from a separate process."""
    code = (
        "import json, sys\n"
        "from knowledge.services import document_create, document_schedule_ingest\n"
        "for title, text in json.loads(sys.stdin.read()).items():\n"
        "    document_schedule_ingest(document=document_create(title=title, text=text))\n"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=PROJECT_ROOT,
        env=cluster["env"],
        input=json.dumps(documents).encode(),
        check=True,
    )


def statuses(cluster) -> dict[str, str]:
    return dict(cluster["db"].execute("SELECT title, status FROM knowledge_sourcedocument").fetchall())


def ingest_tasks(cluster, title: str) -> list[tuple[str, list[str]]]:
    return (
        cluster["db"]
        .execute(
            "SELECT t.status, t.worker_ids FROM django_tasks_database_dbtaskresult t JOIN knowledge_sourcedocument d "
            "ON (t.args_kwargs -> 'kwargs' ->> 'document_id')::int = d.id WHERE d.title = %s",
            [title],
        )
        .fetchall()
    )


def test_documents_uploaded_while_two_workers_run_are_each_indexed_once(cluster):
    extra = {f"Notes {n}": f"# Notes {n}\n\n## Part\n\nThe note number {n} is about lighthouses." for n in range(5)}
    upload(cluster, {**CORPUS, **extra})
    titles = [*CORPUS, *extra]

    def indexed() -> bool:
        # A document is ready inside its task; the task's own row is marked finished a moment later.
        tasks = [status for title in titles for status, _ in ingest_tasks(cluster, title)]
        done = not {"READY", "RUNNING"} & set(tasks)
        return set(statuses(cluster).values()) == {"ready"} and len(statuses(cluster)) == 8 and done

    wait_until(indexed, what="every document ready and its ingestion task finished")
    for title in titles:
        tasks = ingest_tasks(cluster, title)
        assert [status for status, _ in tasks] == ["SUCCESSFUL"], (title, tasks)
    chunks = (
        cluster["db"]
        .execute("SELECT count(*), count(DISTINCT (document_id, position)) FROM knowledge_chunk")
        .fetchone()
    )
    assert chunks[0] == chunks[1] > 0
    workers = {worker for title in titles for _, ids in ingest_tasks(cluster, title) for worker in ids}
    assert len(workers) == 2, "both workers took documents"


def test_a_conversation_alternating_between_the_processes_keeps_its_history(cluster):
    first, second = (server.url for server in cluster["servers"])
    reply = post(f"{first}/api/chat/", {"message": "When did Tower Bridge open?"})
    session_id = reply["session_id"]
    post(f"{second}/api/chat/", {"message": "And the Golden Gate?", "session_id": session_id})
    post(f"{first}/api/chat/", {"message": "Who built Hubble?", "session_id": session_id})
    for server in (first, second):
        turns = get(f"{server}/api/chat/sessions/{session_id}/")["turns"]
        assert [turn["content"] for turn in turns[::2]] == [
            "When did Tower Bridge open?",
            "And the Golden Gate?",
            "Who built Hubble?",
        ]


def test_killing_a_server_mid_stream_loses_no_stored_turn_and_the_other_serves(cluster):
    first, second = cluster["servers"]
    session_id = post(f"{second.url}/api/chat/", {"message": "When did Tower Bridge open?"})["session_id"]
    cluster["model"].token_delay = 0.3  # a model that talks for ten seconds
    cluster["model"].reply = "Hubble was built by Lockheed Martin [1]. " * 5
    streamed = threading.Event()

    def stream() -> None:
        body = json.dumps({"message": "Who built Hubble?", "session_id": session_id}).encode()
        request = urllib.request.Request(
            f"{first.url}/api/chat/?stream=1", data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                for line in response:
                    if line.startswith(b"event: token"):
                        streamed.set()
        except OSError:
            pass  # the server died under it

    reader = threading.Thread(target=stream)
    reader.start()
    assert streamed.wait(30), "the stream started"
    first.crash()  # SIGKILL mid-stream
    reader.join(timeout=30)
    cluster["model"].reset()
    turns = get(f"{second.url}/api/chat/sessions/{session_id}/")["turns"]
    assert [turn["content"] for turn in turns[::2]] == ["When did Tower Bridge open?"]  # nothing half-stored
    post(f"{second.url}/api/chat/", {"message": "Who built Hubble?", "session_id": session_id})
    assert len(get(f"{second.url}/api/chat/sessions/{session_id}/")["turns"]) == 4
    first.start()  # back for the next test


def test_killing_a_worker_mid_document_lets_the_other_finish_it(cluster):
    upload(cluster, {"Almanac": BIG})
    wait_until(lambda: any(status == "RUNNING" for status, _ in ingest_tasks(cluster, "Almanac")), what="running")
    [(_, owners)] = [task for task in ingest_tasks(cluster, "Almanac") if task[0] == "RUNNING"]
    pid = cluster["db"].execute("SELECT pid FROM knowledge_ingestionworker WHERE worker_id = %s", owners).fetchone()[0]
    [victim] = [worker for worker in cluster["workers"] if worker.pid == pid]
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    wait_until(lambda: statuses(cluster)["Almanac"] == "ready", seconds=180, what="the other worker to finish it")
    # The task runner records the task's own outcome just after the task marks the document ready.
    wait_until(
        lambda: sorted(status for status, _ in ingest_tasks(cluster, "Almanac")) == ["FAILED", "SUCCESSFUL"],
        seconds=30,
        what="the killed worker's task released and the other's done",
    )
    count = (
        cluster["db"]
        .execute(
            "SELECT c.chunk_count, (SELECT count(*) FROM knowledge_chunk k WHERE k.document_id = c.id) "
            "FROM knowledge_sourcedocument c WHERE c.title = 'Almanac'"
        )
        .fetchone()
    )
    assert count[0] == count[1] >= 400
