"""The production server, as `make run` starts it: uvicorn serving the ASGI app in one process.

One process on an event loop holds hundreds of streaming readers (a reader waiting for the model holds no
thread); blocking work goes to the chat worker pool (CHAT_WORKER_THREADS). The default in-memory sessions
live in this one process; with SESSION_BACKEND=redis, run several (`--workers`).

    python -m chatbot_site.server --host 127.0.0.1 --port 8000
"""

import argparse

import uvicorn

from chatbot_site.protocol import TimedRequestProtocol


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until SIGTERM or Ctrl-C (then stop gracefully)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="processes (only with SESSION_BACKEND=redis)")
    parser.add_argument("--graceful-seconds", type=int, default=30, help="how long open streams may finish")
    args = parser.parse_args(argv)
    uvicorn.run(
        "chatbot_site.asgi:application",
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http=TimedRequestProtocol,
        lifespan="on",
        # Our request log (chatbot_site.middleware) is the access log: it never writes query strings.
        access_log=False,
        # Client addresses come from the socket; DJANGO_NUM_PROXIES decides which X-Forwarded-For hop to trust.
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=args.graceful_seconds,
    )


if __name__ == "__main__":
    main()
