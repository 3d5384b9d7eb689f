"""An OpenAI-compatible chat completions server on 127.0.0.1 that streams like a hosted model: a fixed
answer of N tokens spread evenly over S seconds. asyncio, so thousands of streams cost it little.

Like a hosted model's API it keeps HTTP/1.1 connections open between requests (streams are sent with chunked
transfer encoding), so clients reuse their pooled connections; ``--close`` closes each one after its answer.

    .venv/bin/python bench/slow_model.py --port 9001 --seconds 2 --tokens 20
"""

import argparse
import asyncio
import json
import time

ANSWER_WORDS = "The guide says so in its own words, and this sentence stands in for what a model writes".split()


def _chunk(model: str, delta: dict, finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


def _http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def _answer(writer: asyncio.StreamWriter, body: dict, *, seconds: float, tokens: int, close: bool) -> None:
    model = body.get("model", "bench-model")
    words = [ANSWER_WORDS[i % len(ANSWER_WORDS)] for i in range(tokens - 1)] + ["[1]."]
    connection = b"close" if close else b"keep-alive"
    if not body.get("stream"):
        await asyncio.sleep(seconds)
        payload = json.dumps(
            {
                "id": "chatcmpl-bench",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": " ".join(words)}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": tokens, "total_tokens": 100 + tokens},
            }
        ).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: %s\r\nContent-Length: %d\r\n\r\n%s"
            % (connection, len(payload), payload)
        )
        await writer.drain()
        return
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
        % connection
    )
    gap = seconds / tokens
    for index, word in enumerate(words):
        await asyncio.sleep(gap)
        delta = {"content": word if index == 0 else f" {word}"}
        if index == 0:
            delta["role"] = "assistant"
        writer.write(_http_chunk(_chunk(model, delta)))
        await writer.drain()
    writer.write(_http_chunk(_chunk(model, {}, "stop") + b"data: [DONE]\n\n") + b"0\r\n\r\n")
    await writer.drain()


async def handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, seconds: float, tokens: int, close: bool
) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return  # the client closed its idle connection
            length = 0
            for line in head.decode("latin-1").split("\r\n"):
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            body = json.loads(await reader.readexactly(length) or b"{}")
            await _answer(writer, body, seconds=seconds, tokens=tokens, close=close)
            if close:
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        pass  # the client went away
    finally:
        writer.close()


async def serve(*, port: int, seconds: float, tokens: int, close: bool) -> None:
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, seconds=seconds, tokens=tokens, close=close), "127.0.0.1", port, backlog=4096
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--close", action="store_true", help="close each connection after its answer")
    args = parser.parse_args()
    try:
        import uvloop  # noqa: PLC0415

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(port=args.port, seconds=args.seconds, tokens=args.tokens, close=args.close))


if __name__ == "__main__":
    main()
