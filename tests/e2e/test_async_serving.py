"""The ASGI server as `make run` starts it: many streams at once, cancellation, readiness and restarts."""

import asyncio
import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import httpx
import pytest
from django.db import connection

from tests.chat.conftest import parse_sse
from tests.servers import AppServer, llm_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


async def ask_streaming(client: httpx.AsyncClient, url: str, question: str) -> list[tuple[str, dict]]:
    async with client.stream("POST", f"{url}/api/chat/?stream=1", json={"message": question}) as response:
        assert response.status_code == 200
        return parse_sse(b"".join([chunk async for chunk in response.aiter_bytes()]))


def assert_all_stream_at_once(app: AppServer, openai_server, *, readers: int, log) -> None:
    """``readers`` readers ask at once, each streaming for two seconds: the model sees all their streams open
    together, and every stream ends with `done`."""
    openai_server.state.reply = " ".join(["Hubble"] * 20) + " [1]."
    openai_server.state.token_delay = 0.1  # two seconds of streaming per answer

    async def burst() -> list[list[tuple[str, dict]]]:
        limits = httpx.Limits(max_connections=readers)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            questions = [f"Who built the Hubble Space Telescope? ({n})" for n in range(readers)]
            return await asyncio.gather(*(ask_streaming(client, app.url, q) for q in questions))

    results = asyncio.run(burst())
    unfinished = [events[-3:] for events in results if events[-1][0] != "done"]
    assert not unfinished, (unfinished, log.read_text()[-3000:])
    assert all(events[-1][1]["status"] == "answered" for events in results)
    assert openai_server.state.streams_finished == readers
    assert openai_server.state.max_open_streams == readers


def test_many_streams_are_open_at_once_and_all_finish(knowledge, openai_server, tmp_path):
    """Forty readers at once: a thread per stream would cap the streams open together at the thread count."""
    log = tmp_path / "server.log"
    with AppServer(database=connection.settings_dict["NAME"], env=llm_env(openai_server), log=log).running() as app:
        assert_all_stream_at_once(app, openai_server, readers=40, log=log)


def test_the_server_raises_its_open_files_limit_for_many_streams(knowledge, openai_server, tmp_path):
    """Started with a soft limit of 100 open files (a few dozen readers' sockets, each with one to the model),
    the server raises it to the hard limit and holds 80 streams."""
    log = tmp_path / "server.log"
    database = connection.settings_dict["NAME"]
    with AppServer(database=database, env=llm_env(openai_server), log=log, open_files=100).running() as app:
        limits = Path(f"/proc/{app.process.pid}/limits").read_text()
        soft, hard = next(line.split()[3:5] for line in limits.splitlines() if line.startswith("Max open files"))
        assert soft == hard
        assert_all_stream_at_once(app, openai_server, readers=80, log=log)


def test_past_the_open_request_limit_a_reader_gets_a_503_to_retry(knowledge, openai_server, tmp_path):
    openai_server.state.reply = " ".join(["Hubble"] * 20) + " [1]."
    openai_server.state.token_delay = 0.2  # four seconds of streaming per answer
    env = {
        **llm_env(openai_server),
        "SERVER_MAX_OPEN_REQUESTS": "3",
        "CORS_ALLOWED_ORIGINS": "https://book.example.org",
    }
    log = tmp_path / "server.log"
    question = "Who built the Hubble Space Telescope?"
    with AppServer(database=connection.settings_dict["NAME"], env=env, log=log).running() as app:

        async def scenario() -> tuple:
            async with httpx.AsyncClient(timeout=60) as client:
                streams = [asyncio.create_task(ask_streaming(client, app.url, f"{question} ({n})")) for n in range(3)]
                deadline = time.monotonic() + 30
                while openai_server.state.open_streams < 3 and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                origin = {"Origin": "https://book.example.org"}  # the widget, on the book's site
                busy = await client.post(f"{app.url}/api/chat/", json={"message": question}, headers=origin)
                body = {"model": "book", "messages": [{"role": "user", "content": question}]}
                completions = await client.post(f"{app.url}/v1/chat/completions", json=body)
                health = await client.get(f"{app.url}/healthz")
                streamed = await asyncio.gather(*streams)
                openai_server.state.token_delay = 0.0
                after = await client.post(f"{app.url}/api/chat/", json={"message": question})
                return busy, completions, health, streamed, after

        busy, completions, health, streamed, after = asyncio.run(scenario())
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "2"
    assert busy.json()["error"]["code"] == "server_busy"
    assert busy.headers["Access-Control-Allow-Origin"] == "https://book.example.org"  # the widget can read it
    assert completions.status_code == 503 and completions.json()["error"]["code"] == "server_busy"
    assert completions.json()["error"]["type"]  # OpenAI's error shape under /v1/
    assert health.status_code == 200  # not an API request: never refused
    assert all(events[-1][0] == "done" for events in streamed)  # the open streams were not disturbed
    assert after.status_code == 200 and after.json()["status"] == "answered"  # room again once they ended
    assert len(openai_server.state.requests) == 4  # the refused requests never reached the model
    assert "API requests refused with 503 server_busy (at the open-request limit): 1" in log.read_text()
    assert "Traceback" not in log.read_text()


def test_a_reader_who_leaves_mid_stream_cancels_the_model_request(knowledge, openai_server):
    openai_server.state.reply = " ".join(["word"] * 60) + " [1]."
    openai_server.state.token_delay = 0.05
    with AppServer(database=connection.settings_dict["NAME"], env=llm_env(openai_server)).running() as app:
        session_id = post_json(f"{app.url}/api/chat/sessions/", {})["session_id"]
        url = f"{app.url}/api/chat/sessions/{session_id}/messages/?stream=1"
        with httpx.Client(timeout=30) as client:
            with client.stream("POST", url, json={"message": "Who built the Hubble Space Telescope?"}) as response:
                seen = b""
                for chunk in response.iter_bytes():
                    seen += chunk
                    if b"event: token" in seen:
                        break  # leaving the block closes the connection
        deadline = time.monotonic() + 10
        while openai_server.state.streams_aborted == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert openai_server.state.streams_aborted == 1  # our server closed its request to the model
        assert openai_server.state.streams_finished == 0
        status, body = get_json(f"{app.url}/api/chat/sessions/{session_id}/")
        assert status == 200 and body["turns"] == []  # nothing stored for the abandoned answer


def test_sessions_survive_a_graceful_restart_but_not_a_crash(knowledge, tmp_path):
    env = {"CHAT_SESSION_SNAPSHOT_PATH": str(tmp_path / "sessions.json")}
    database = connection.settings_dict["NAME"]
    app = AppServer(database=database, env=env)
    app.start()
    try:
        reply = post_json(f"{app.url}/api/chat/", {"message": "When did Tower Bridge open?"})
        session_id = reply["session_id"]
    finally:
        app.stop()  # SIGTERM: the graceful stop writes the sessions out
    snapshot = json.loads((tmp_path / "sessions.json").read_text())
    assert [item["id"] for item in snapshot["sessions"]] == [session_id]
    assert (tmp_path / "sessions.json").stat().st_mode & 0o077 == 0  # conversations are private to the owner

    app = AppServer(database=database, env=env)
    app.start()
    try:
        status, body = get_json(f"{app.url}/api/chat/sessions/{session_id}/")
        assert status == 200
        assert [turn["role"] for turn in body["turns"]] == ["user", "assistant"]
        assert body["turns"][1]["content"] == reply["answer"]
        # The follow-up still knows what "it" is.
        follow_up = post_json(f"{app.url}/api/chat/", {"message": "What is raised on it?", "session_id": session_id})
        assert "Tower Bridge" in follow_up["query"]
    finally:
        app.crash()  # SIGKILL: nothing is written
    assert not (tmp_path / "sessions.json").exists()

    app = AppServer(database=database, env=env)
    app.start()
    try:
        status, body = get_json(f"{app.url}/api/chat/sessions/{session_id}/")
        assert status == 404 and body["error"]["code"] == "session_not_found"
    finally:
        app.stop()


def test_the_server_takes_no_request_before_the_model_is_loaded(knowledge, tmp_path):
    log = tmp_path / "server.log"
    app = AppServer(database=connection.settings_dict["NAME"], log=log)
    subprocess.run(
        [app.python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=app.root, env=app.env, check=True
    )
    app.process = subprocess.Popen(
        [app.python, "-m", "chatbot_site.server", "--host", "127.0.0.1", "--port", str(app.port)],
        cwd=app.root,
        env=app.env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        first = None
        deadline = time.monotonic() + 90
        while first is None and time.monotonic() < deadline:
            try:
                first = get_json(f"{app.url}/readyz")
            except OSError:
                time.sleep(0.05)  # not listening yet
        assert first is not None and first[0] == 200, first  # the first answer is "ready", never "loading"
        reply = post_json(f"{app.url}/api/chat/", {"message": "When did Tower Bridge open?"})
        # The first question pays no model load (that took 6-7 s on first use before).
        assert reply["timings_ms"]["embed"] < 1000, reply["timings_ms"]
        text = log.read_text()
        assert text.index("chat engine ready") < text.index("Uvicorn running on")
    finally:
        app.stop()


def test_query_strings_never_reach_the_log(knowledge, tmp_path):
    log = tmp_path / "server.log"
    with AppServer(database=connection.settings_dict["NAME"], log=log).running() as app:
        status, body = get_json(f"{app.url}/api/chat/sessions/00000000-0000-4000-8000-000000000000/?api_key=sk-leak-me")
        assert status == 404 and body["error"]["code"] == "session_not_found"
    text = log.read_text()
    assert "/api/chat/sessions/00000000-0000-4000-8000-000000000000/" in text  # the request was logged...
    assert "sk-leak-me" not in text and "api_key" not in text  # ...without its query string
