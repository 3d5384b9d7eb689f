"""The real server as `make run` starts it (uvicorn, one process), over real HTTP on 127.0.0.1."""

import http.client
import json
import socket
import urllib.error
import urllib.request

import pytest
from django.db import connection

from tests.servers import AppServer, parse_raw_response, read_until_closed

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


def raw_request(server, method: str, path: str, body=None, headers: dict | None = None, chunked: bool = False):
    """(status, headers, json body, whether the server closed the connection) over one connection."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    connection.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
    response = connection.getresponse()
    payload = json.loads(response.read() or b"{}")
    closed = response.will_close
    connection.close()
    return response.status, response.headers, payload, closed


def test_a_chunked_body_is_read_not_taken_as_empty(server):
    def pieces():
        yield b'{"message": "When did Tower'
        yield b' Bridge open?"}'

    status, _, body, _ = raw_request(
        server, "POST", "/api/chat/", pieces(), {"Content-Type": "application/json"}, chunked=True
    )
    assert status == 200, body
    assert "1894" in body["answer"]


def send_partly(server, head: bytes, body: bytes) -> tuple[int, dict, dict]:
    """Send a request head and part of its body, then read the reply without sending the rest (status,
    headers, JSON body); returns only once the server has closed the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head + body)
        return parse_raw_response(read_until_closed(sock)[0])


def test_oversize_bodies_are_refused_and_the_connection_closed(server):
    # Declared with Content-Length: refused before the body is read.
    head = b"POST /api/chat/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    status, headers, body = send_partly(server, head + b"Content-Length: 100000\r\n\r\n", b"{")
    assert (status, body["error"]["code"]) == (413, "request_too_large")
    assert headers["connection"] == "close"
    # Sent chunked, with no length: refused once the limit is passed.
    chunk = b"x" * 70_000
    status, headers, body = send_partly(
        server, head + b"Transfer-Encoding: chunked\r\n\r\n", b"%x\r\n%s\r\n" % (len(chunk), chunk)
    )
    assert (status, body["error"]["code"]) == (413, "request_too_large")
    assert headers["connection"] == "close"
    # The OpenAI-compatible API answers in its own shape.
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2000000\r\n\r\n"
    status, _, body = send_partly(server, head, b"{")
    assert status == 413 and body["error"]["type"] == "invalid_request_error"


def test_a_post_without_the_trailing_slash_keeps_its_body(server):
    payload = json.dumps({"message": "When did Tower Bridge open?"}).encode()
    status, _, body, _ = raw_request(server, "POST", "/api/chat", payload, {"Content-Type": "application/json"})
    assert status == 200 and "1894" in body["answer"]
    status, _, body, _ = raw_request(server, "POST", "/api/chat/sessions")
    assert status == 201 and body["session_id"]


def test_a_host_not_allowed_gets_a_json_400_under_the_api(server):
    status, _, body, _ = raw_request(server, "POST", "/api/chat/sessions/", headers={"Host": "evil.example"})
    assert (status, body["error"]["code"]) == (400, "invalid_host")


def test_slow_clients_do_not_stop_the_server_answering_others(server):
    import time

    # 500 connections that each send one byte of a request and then nothing (a slowloris attack).
    slow = []
    try:
        for _ in range(500):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(b"P")
            slow.append(sock)
        started = time.monotonic()
        with urllib.request.urlopen(f"{server.url}/healthz", timeout=10) as response:
            assert response.status == 200
        assert time.monotonic() - started < 2
        with post(f"{server.url}/api/chat/", {"message": "When did Tower Bridge open?"}) as response:
            assert "1894" in json.load(response)["answer"]
    finally:
        for sock in slow:
            sock.close()


def test_an_oversize_upload_outside_the_api_is_refused_before_it_is_stored(knowledge):
    # The admin's uploads are bounded too: Django would spool any size to disk, and its CSRF check reads the body
    # before any login is checked, so the body must be refused before Django reads it.
    with AppServer(database=connection.settings_dict["NAME"], env={"SERVER_MAX_BODY_BYTES": "50000"}).running() as app:
        head = b"POST /admin/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
        for framing, body in [
            (b"Content-Length: 60000\r\n\r\n", b"--x"),
            (b"Transfer-Encoding: chunked\r\n\r\n", b"%x\r\n%s\r\n" % (60_000, b"y" * 60_000)),
        ]:
            with socket.create_connection(("127.0.0.1", app.port), timeout=30) as sock:
                sock.sendall(head + framing + body)
                raw = read_until_closed(sock)[0]
            status, rest = raw.split(b"\r\n", 1)
            assert b" 413 " in status, raw[:300]
            assert b"connection: close" in rest.lower()
            assert b"the most this server accepts (SERVER_MAX_BODY_BYTES)" in rest
        # Within the limit, the admin answers as usual (its login page, to a GET).
        with urllib.request.urlopen(f"{app.url}/admin/login/", timeout=30) as response:
            assert response.status == 200
