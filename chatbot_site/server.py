"""The production server, as `make run` starts it: uvicorn serving the ASGI app in one process.

One process on an event loop holds hundreds of streaming readers (a reader waiting for the model holds no
thread); blocking work goes to the chat worker pool (CHAT_WORKER_THREADS). The default in-memory sessions
live in this one process; with SESSION_BACKEND=redis, run several (`--workers`).

    python -m chatbot_site.server --host 127.0.0.1 --port 8000
"""

import argparse
import logging
import resource

import uvicorn

from chatbot_site.protocol import TimedRequestProtocol

logger = logging.getLogger(__name__)

# Below this many open files, warn: each streaming reader holds its connection and one to the model.
FEW_OPEN_FILES = 4096


def raise_open_files_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit, and return the limit now in force.

    Each streaming reader holds a socket, and one to the model while it answers: the soft limit most Linux
    sessions start with (1,024) would cap one process at about 450 readers, far below what its event loop
    holds. The hard limit is what the administrator allows; raising the soft limit to it needs no privilege.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # An unlimited hard limit (macOS) still caps the soft one: the kernel's own maximum, often 10,240 there.
    targets = [hard] if hard != resource.RLIM_INFINITY else [1 << 20, 10240]
    for target in targets:
        if soft == resource.RLIM_INFINITY or soft >= target:
            return soft
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            continue
        return target
    return soft


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until SIGTERM or Ctrl-C (then stop gracefully)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="processes (only with SESSION_BACKEND=redis)")
    parser.add_argument("--graceful-seconds", type=int, default=30, help="how long open streams may finish")
    args = parser.parse_args(argv)
    open_files = raise_open_files_limit()
    if open_files != resource.RLIM_INFINITY and open_files < FEW_OPEN_FILES:
        logger.warning(
            "this process may open only %d files, so it holds at most about %d streaming readers; raise the hard "
            "limit (ulimit -Hn, LimitNOFILE= in systemd) for more",
            open_files,
            open_files // 2,
        )
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
