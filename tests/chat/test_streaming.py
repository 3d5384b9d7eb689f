"""Server-Sent Events: sources first, then tokens, then done; errors as an error event."""

import uuid

import pytest
from django.urls import reverse

from tests.chat.conftest import parse_sse, streamed_body

# The stream is produced in a worker thread with its own database connection, so data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def stream(api, url: str, payload: dict, **headers):
    response = api.post(url, payload, format="json", **headers)
    assert response.streaming
    return response, parse_sse(streamed_body(response))


def test_stream_sends_sources_tokens_and_done(api, knowledge):
    session_id = api.post(reverse("chat-session-list")).json()["session_id"]
    url = reverse("chat-session-messages", args=[session_id])
    response, events = stream(api, url, {"message": "When did Tower Bridge open?"}, HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["Cache-Control"] == "no-cache"
    assert response["X-Accel-Buffering"] == "no"
    names = [name for name, _ in events]
    assert names[0] == "sources"
    assert names[-1] == "done"
    assert set(names[1:-1]) == {"token"} and len(names) > 3
    done = events[-1][1]
    assert done["status"] == "answered"
    assert "1894" in done["answer"]
    assert "".join(data["text"] for name, data in events if name == "token") == done["answer"]
    assert {s["chunk_id"] for s in done["sources"]} <= {s["chunk_id"] for s in events[0][1]["sources"]}
    turns = api.get(reverse("chat-session-detail", args=[session_id])).json()["turns"]
    assert turns[-1]["content"] == done["answer"]


def test_stream_query_parameter_and_converse(api, knowledge):
    response, events = stream(api, reverse("chat-converse") + "?stream=1", {"message": "Where is Cheddar?"})
    assert events[-1][0] == "done"
    assert events[-1][1]["session_id"]


def test_stream_no_answer(api, knowledge):
    _, events = stream(api, reverse("chat-converse") + "?stream=1", {"message": "How do I bake sourdough bread?"})
    assert [name for name, _ in events][0] == "sources"
    assert events[0][1] == {"sources": []}
    assert events[-1][1]["status"] == "no_answer"


def test_stream_errors_come_as_an_error_event(api):
    url = reverse("chat-session-messages", args=[str(uuid.uuid4())]) + "?stream=1"
    response = api.post(url, {"message": "hello"}, format="json", HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 404
    events = parse_sse(response.content)
    assert events == [("error", {"error": {"code": "session_not_found", "message": events[0][1]["error"]["message"]}})]


def test_a_quiet_stream_sends_keep_alive_comments(api, knowledge, llm, monkeypatch):
    from chat import streaming

    monkeypatch.setattr(streaming, "KEEPALIVE_SECONDS", 0.2)
    llm.reply = "Tower Bridge opened in 1894 [1]."
    llm.token_delay = 0.5  # the model pauses longer than the keep-alive interval between tokens
    url = reverse("chat-converse") + "?stream=1"
    response = api.post(url, {"message": "When did Tower Bridge open?"}, format="json")
    body = streamed_body(response)
    events = parse_sse(body)
    assert body.count(b": keep-alive\n\n") >= 3
    assert events[-1][0] == "done"
    assert "".join(data["text"] for name, data in events if name == "token") == llm.reply


def test_events_queued_while_the_loop_was_busy_go_out_together_in_order():
    import asyncio

    from chat.streaming import _events, format_event

    async def work(on_event):
        for number in range(5):
            on_event("token", {"text": str(number)})  # five events before the stream gets to run
        await asyncio.sleep(0)
        on_event("token", {"text": "5"})
        return {"answer": "012345"}

    async def read() -> list[bytes]:
        return [chunk async for chunk in _events(work, format_event)]

    chunks = asyncio.run(read())
    assert chunks[0] == "".join(format_event("token", {"text": str(n)}) for n in range(5)).encode()
    assert parse_sse(b"".join(chunks)) == [
        *[("token", {"text": str(n)}) for n in range(6)],
        ("done", {"answer": "012345"}),
    ]
