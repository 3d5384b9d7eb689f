"""Time limits on reading a request (chatbot_site.protocol), on the real server over real sockets."""

import json
import logging
import socket
import time

import pytest
from django.db import connection

from chatbot_site.protocol import RefusalLog
from tests.servers import AppServer, parse_raw_response, read_until_closed

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LIMITS = {
    "SERVER_HEADER_TIMEOUT_SECONDS": "1",
    "SERVER_BODY_TIMEOUT_SECONDS": "1",
    "SERVER_BODY_MIN_BYTES_PER_SECOND": "50",
    "CORS_ALLOWED_ORIGINS": "https://book.example.org",
}


@pytest.fixture
def server(tmp_path):
    log = tmp_path / "server.log"
    with AppServer(database=connection.settings_dict["NAME"], env=LIMITS, log=log).running() as app:
        yield app
    assert "Traceback" not in log.read_text()


def _connect(server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def _one_response(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length, on a connection that stays open."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))[15:])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _head(path: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Origin: https://book.example.org\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def test_a_request_whose_headers_stall_gets_a_408_and_its_connection_closes(server):
    opened = time.monotonic()
    with _connect(server) as silent, _connect(server) as partial, _connect(server) as reused:
        partial.sendall(b"POST /api/chat/ HTTP/1.1\r\nHost: 127.0")
        # A reused connection's next request is timed from its own first byte.
        reused.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert _one_response(reused).startswith(b"HTTP/1.1 200 ")
        reused.sendall(b"GET /heal")

        # Meanwhile the server answers others at once.
        with _connect(server) as other:
            other.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert read_until_closed(other)[0].startswith(b"HTTP/1.1 200 ")

        nothing, _ = read_until_closed(silent)
        assert nothing == b"" and 0.9 < time.monotonic() - opened < 5  # sent nothing: closed without a reply
        for sock in (partial, reused):
            response, waited = read_until_closed(sock)
            status, headers, body = parse_raw_response(response)
            assert status == 408 and waited < 5
            assert headers["content-type"] == "application/json" and headers["connection"] == "close"
            assert body["error"]["code"] == "request_timeout"
    # Logged at once the first time, then a line a minute at most.
    assert "requests refused with 408 request_timeout (too slow to arrive): 1" in server.log.read_text()


def test_a_stalled_body_gets_a_408_in_its_apis_shape_and_nothing_is_stored(server):
    with _connect(server) as sock:
        sock.sendall(b"POST /api/chat/sessions/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
        session = parse_raw_response(_one_response(sock))[2]["session_id"]
    body = json.dumps({"message": "How do I add a document?", "session_id": session}).encode()
    with _connect(server) as chat, _connect(server) as completions:
        chat.sendall(_head("/api/chat/", len(body)) + body[:20])
        completions.sendall(_head("/v1/chat/completions", 400) + b'{"model": "book", "mess')
        status, headers, error = parse_raw_response(read_until_closed(chat)[0])
        assert status == 408
        assert headers["access-control-allow-origin"] == "https://book.example.org"  # a widget can read it
        assert error == {"error": {"code": "request_timeout", "message": "The request's body did not arrive in time."}}
        status, _, error = parse_raw_response(read_until_closed(completions)[0])
        assert status == 408
        assert error["error"]["code"] == "request_timeout" and error["error"]["type"] == "invalid_request_error"

    with _connect(server) as sock:
        sock.sendall(f"GET /api/chat/sessions/{session}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        assert parse_raw_response(_one_response(sock))[2]["turns"] == []


def test_a_slow_but_steady_body_is_answered(server):
    # 10 bytes every 0.1 s (100 B/s) for about twice the 1 s allowance: above the 50 B/s minimum throughout.
    body = json.dumps({"message": "How do I add a document?"}).encode()
    body = body[:-1] + b" " * max(200 - len(body), 0) + b"}"
    with _connect(server) as sock:
        sock.sendall(_head("/api/chat/", len(body)).replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        started = time.monotonic()
        for start in range(0, len(body), 10):
            sock.sendall(body[start : start + 10])
            time.sleep(0.1)
        assert time.monotonic() - started > 1.5
        status, _, answer = parse_raw_response(read_until_closed(sock)[0])
    assert status == 200 and answer["answer"]


def test_refusals_are_logged_a_line_a_period_with_their_count(caplog):
    now = [0.0]
    log = RefusalLog(message="%d refused", every=60.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="chatbot_site.protocol"):
        for second in (0, 1, 2, 59):
            now[0] = second
            log.add()
        now[0] = 61
        log.add()
    assert [record.getMessage() for record in caplog.records] == ["1 refused", "4 refused"]
