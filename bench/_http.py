"""A small keep-alive JSON client for load runs against 127.0.0.1, and latency statistics."""

import http.client
import json
import time
from typing import Any
from urllib.parse import urlparse


class Client:
    """One keep-alive connection; one per thread."""

    def __init__(self, base_url: str, timeout: float = 120) -> None:
        parsed = urlparse(base_url)
        assert parsed.hostname in {"127.0.0.1", "localhost"}, "load runs only target this machine"
        self.host, self.port, self.timeout = parsed.hostname, parsed.port, timeout
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict, Any, float]:
        """(status, json body, headers (case-insensitive: uvicorn sends them in lower case), seconds)."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data else {}
        started = time.perf_counter()
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                if attempt:
                    raise
        elapsed = time.perf_counter() - started
        payload = json.loads(raw) if raw else {}
        return response.status, payload, response.headers, elapsed


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0-100)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]
