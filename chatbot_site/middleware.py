"""Request logging with a request id, and an early refusal of oversize API bodies."""

import logging
import re
import time
import uuid

from django.conf import settings
from django.http import JsonResponse

logger = logging.getLogger("chatbot_site.requests")

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestLogMiddleware:
    """Logs method, path, status and milliseconds for every request, tagged with a request id.

    The id comes from a well-formed `X-Request-ID` header or is generated, and is echoed in the response with
    the milliseconds in `Server-Timing`.
    Headers (and so API keys) and bodies are never logged.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = (time.perf_counter() - started) * 1000
        response["X-Request-ID"] = request.request_id
        # Browsers' developer tools show it next to the network time, so a slow answer is easy to place.
        response["Server-Timing"] = f"app;dur={elapsed:.1f}"
        logger.info(
            "request id=%s method=%s path=%s status=%s ms=%.1f%s",
            request.request_id,
            request.method,
            request.path,
            response.status_code,
            elapsed,
            " streaming" if getattr(response, "streaming", False) else "",
        )
        return response


class ApiBodyLimitMiddleware:
    """Refuse API request bodies over API_MAX_BODY_BYTES before anything reads them."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            try:
                length = int(request.headers.get("Content-Length") or 0)
            except ValueError:
                length = 0
            if length > settings.API_MAX_BODY_BYTES:
                return JsonResponse(
                    {
                        "error": {
                            "code": "request_too_large",
                            "message": f"The request body is over {settings.API_MAX_BODY_BYTES:,} bytes. "
                            "Send a shorter message or selection.",
                        }
                    },
                    status=413,
                )
        return self.get_response(request)
