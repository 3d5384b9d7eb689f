"""The real server as `make run` starts it (gunicorn, one process, threads), over real HTTP on 127.0.0.1."""

import json
import urllib.error
import urllib.request

import pytest
from django.db import connection

from tests.servers import AppServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server(knowledge):
    with AppServer(database=connection.settings_dict["NAME"]).running() as app:
        yield app


def post(url: str, body: dict, accept: str = "application/json"):
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", "Accept": accept}
    )
    return urllib.request.urlopen(request, timeout=60)


def test_sse_streams_under_gunicorn(server):
    with post(f"{server.url}/api/chat/?stream=1", {"message": "When did Tower Bridge open?"}) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["X-Accel-Buffering"] == "no"
        events = []
        for raw in response:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                events.append(line[7:])
    assert events[0] == "sources" and events[-1] == "done" and "token" in events


def test_json_errors_and_follow_up_over_http(server):
    with post(f"{server.url}/api/chat/", {"message": "Tell me about the James Webb Space Telescope."}) as response:
        session_id = json.load(response)["session_id"]
    with post(f"{server.url}/api/chat/", {"message": "When did it launch?", "session_id": session_id}) as response:
        assert "2021" in json.load(response)["answer"]
    with pytest.raises(urllib.error.HTTPError) as error:
        post(f"{server.url}/api/chat/", {"message": ""})
    assert error.value.code == 400
    body = json.loads(error.value.read())
    assert body["error"]["code"] == "empty_message"
    assert "Traceback" not in json.dumps(body)
