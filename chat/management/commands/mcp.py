"""Serve the book as an MCP server over stdio, the transport desktop agents launch."""

import anyio
from django.core.management.base import BaseCommand

from chat.concurrency import shutdown_worker_pool
from chat.engine import get_chat_engine
from chat.mcp_server import build_mcp_server


class Command(BaseCommand):
    help = (
        "Serve the book over MCP on stdin/stdout (tools search_book and ask_book, resource book://documents). "
        "Agents launch it; logs go to stderr. The same server is at /mcp on the running web server."
    )

    def handle(self, *args, **options) -> None:
        # The models load before the first message is read, so the first tool call does not wait for them.
        engine = get_chat_engine()
        engine.warm_up()
        server = build_mcp_server()

        async def serve() -> None:
            await engine.warm_up_async()
            try:
                await server.run_stdio_async()
            finally:
                await engine.close_async()

        try:
            anyio.run(serve)
        except KeyboardInterrupt:
            pass
        finally:
            shutdown_worker_pool()
