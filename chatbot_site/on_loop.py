"""Django's sync request steps run on the event loop for API requests whose view is async.

Around an async view, Django runs its sync steps through sync_to_async: its own middleware's process_request
and process_response, the request signals, rendering and closing the response. The chat API's views are async
and send every blocking job (embedding, SQL, answering) to the chat worker pool, so those steps are CPU work of
microseconds; a hop to a thread and back costs more than the step. chatbot_site.asgi marks such a request with
``steps_on_loop()``: asgiref's hops then run inline (``OnTheLoop``), and Django's middleware, wrapped by
``InlineHooks``, skips asgiref altogether. A database call there fails loudly (Django refuses one on the event
loop), never blocks it.
"""

import asyncio
import contextlib
import contextvars
from collections.abc import Iterator
from concurrent.futures import Executor

_on_loop: contextvars.ContextVar[bool] = contextvars.ContextVar("api_steps_on_loop", default=False)


class OnTheLoop(Executor):
    """An executor that runs each call at once, in the calling thread: the event loop's, where asgiref's
    ``loop.run_in_executor`` calls it.

    It hands back an asyncio future, already done, which run_in_executor passes on as it is. A
    concurrent.futures one would be re-wrapped and completed through call_soon_threadsafe: a write to the
    loop's wake-up pipe and another pass of the loop for a call that is already over.
    """

    def submit(self, fn, /, *args, **kwargs) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # noqa: BLE001 - handed to the awaiting caller, as a thread's would be
            future.set_exception(error)
        return future


@contextlib.contextmanager
def steps_on_loop(enabled: bool = True) -> Iterator[None]:
    """Within the block (and the tasks it starts), Django's sync steps of this request run on the loop."""
    token = _on_loop.set(enabled)
    try:
        yield
    finally:
        _on_loop.reset(token)


def runs_on_loop() -> bool:
    """Whether the current request's sync steps run on the loop."""
    return _on_loop.get()


class InlineHooks:
    """Mixed in before one of Django's MiddlewareMixin middlewares: on the loop (see ``steps_on_loop``), its
    process_request and process_response are called directly instead of through sync_to_async, whose
    bookkeeping (copying and restoring the context, two futures) costs more than the hooks. Elsewhere (the
    admin, sync views) the middleware behaves as Django's."""

    async def __acall__(self, request):
        if not runs_on_loop():
            return await super().__acall__(request)
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response
