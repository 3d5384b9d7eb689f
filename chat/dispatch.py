"""Async API views whose authentication, permissions and throttles run on the event loop."""

import inspect

from adrf.views import APIView as AsyncAPIView
from rest_framework.request import Request
from rest_framework.views import APIView


class OnLoopDispatch:
    """adrf's dispatch, with authentication, permissions and throttles run on the loop.

    They compare keys in memory and count in the cache, microseconds of work; adrf would run them in a thread of
    the request's own, which is a thread per open stream. Mix in before adrf's APIView or ViewSet.
    """

    def dispatch(self, request, *args, **kwargs):
        """Always the async dispatch: these views are async. (adrf asks `view_is_async` on every request, which
        for a viewset walks all the class's members: 0.1 ms.)"""
        return self.async_dispatch(request, *args, **kwargs)

    async def async_dispatch(self, request, *args, **kwargs):
        """Initialise, authenticate, check and run the handler, awaiting it if it is async."""
        self.args, self.kwargs = args, kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            self.initial(request, *args, **kwargs)
            handler = getattr(self, request.method.lower(), self.http_method_not_allowed)
            response = handler(request, *args, **kwargs)
            if inspect.isawaitable(response):
                response = await response
        except Exception as error:  # noqa: BLE001 - DRF turns it into the error response
            response = self.handle_exception(error)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response

    def check_throttles(self, request: Request) -> None:
        """DRF's own check: adrf's always enters async_to_sync, which cannot run on the event loop."""
        APIView.check_throttles(self, request)


class OnLoopAPIView(OnLoopDispatch, AsyncAPIView):
    """An async APIView dispatched on the loop."""
