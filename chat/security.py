"""API keys and throttles for the chat API."""

import hmac

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from .sessions import canonical_session_id


def client_address(request) -> str:
    """The client's address as the throttles see it: the socket's, or with DJANGO_NUM_PROXIES the address the
    outermost trusted proxy appended (also django-axes' view of admin logins)."""
    return BaseThrottle().get_ident(request)


class ApiKeyClient:
    """The caller, once it has shown a valid key (or when no keys are configured)."""

    is_authenticated = True

    def __init__(self, key_index: int | None) -> None:
        self.key_index = key_index


def presented_key(request) -> str:
    """The key from `Authorization: Bearer <key>` or `X-API-Key: <key>`."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("X-API-Key", "").strip()


def key_index(given: str) -> int | None:
    """Which of CHAT_API_KEYS the key is (None: none of them)."""
    for index, key in enumerate(settings.CHAT_API_KEYS):
        # Constant-time comparison: the time taken must not tell how much of a key was right.
        if hmac.compare_digest(given.encode(), key.encode()):
            return index
    return None


class ApiKeyAuthentication(BaseAuthentication):
    """Requires one of CHAT_API_KEYS when that setting is not empty."""

    def authenticate(self, request):
        if not settings.CHAT_API_KEYS:
            return (ApiKeyClient(None), None)
        given = presented_key(request)
        if not given:
            return None  # the permission below answers 401 with `missing_api_key`
        failures = FailedKeyThrottle()
        # Checked before the key, so an address past the limit learns nothing more about which keys are right.
        failures.check(request)
        index = key_index(given)
        if index is None:
            failures.record(request)
            raise exceptions.AuthenticationFailed("The API key is not valid.")
        return (ApiKeyClient(index), None)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="chat"'


class MissingApiKey(exceptions.NotAuthenticated):
    default_code = "missing_api_key"
    default_detail = "This API needs a key: send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`."


class HasApiKey(BasePermission):
    """Lets a request through when keys are off or a valid key was shown."""

    def has_permission(self, request, view) -> bool:
        if isinstance(request.user, ApiKeyClient):
            return True
        raise MissingApiKey()


class _SettingsRateThrottle(SimpleRateThrottle):
    """DRF's rate throttle counted in constant time: the cache keeps one moment per key (GCRA), not DRF's list
    of every request in the period, which it unpickles, trims and pickles again on each request (at 100
    requests a second from one address, 6,000 floats each way). The limit is the same: up to the rate's
    number of requests at once, then one every period / number."""

    def get_rate(self) -> str | None:
        # Read the rate now, not at import, so changed settings (tests, reloads) take effect.
        from rest_framework.settings import api_settings  # noqa: PLC0415

        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        """Whether the request is within the rate; counts it when it is."""
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        return self._admit(count=True)

    def _admit(self, *, count: bool) -> bool:
        # The moment the key's budget is spent up to: each request moves it one interval on from now or later.
        self.now = self.timer()
        stored = self.cache.get(self.key)
        # A shared cache may still hold DRF's list for the key (written before this throttle): start afresh.
        spent_from = max(stored, self.now) if isinstance(stored, float) else self.now
        spent_until = spent_from + self.duration / self.num_requests
        self.retry_after = spent_until - self.now - self.duration
        if self.retry_after > 0:
            return False
        if count:
            self.cache.set(self.key, spent_until, self.duration)
        return True

    def wait(self) -> float:
        """Seconds until the next request would be allowed."""
        return max(self.retry_after, 0.0)


class ClientIpThrottle(_SettingsRateThrottle):
    """Requests per client IP (REMOTE_ADDR, or X-Forwarded-For behind a trusted proxy)."""

    scope = "chat_ip"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class FailedKeyThrottle(_SettingsRateThrottle):
    """Wrong API keys per client address (CHAT_THROTTLE_FAILED_KEYS). Authentication runs before DRF's
    throttles, so without this a wrong key would be answered 401 however often it is tried."""

    scope = "chat_failed_key"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def check(self, request) -> None:
        """Raise Throttled (429 with Retry-After) when the address is past its wrong-key limit."""
        if self.rate is None:
            return
        self.key = self.get_cache_key(request, None)
        if not self._admit(count=False):
            raise exceptions.Throttled(wait=self.wait())

    def record(self, request) -> None:
        """Count one wrong key for the address."""
        if self.rate is not None:
            self.key = self.get_cache_key(request, None)
            self._admit(count=True)


class SessionThrottle(_SettingsRateThrottle):
    """Messages per chat session, whichever client sends them."""

    scope = "chat_session"

    def get_cache_key(self, request, view) -> str | None:
        session_id = view.kwargs.get("pk")
        if session_id is None and isinstance(request.data, dict):
            session_id = request.data.get("session_id")
        if request.method != "POST":
            return None
        ident = canonical_session_id(session_id)
        if ident is None:
            return None  # no id, or not a canonical one: validation refuses the request anyway
        return self.cache_format % {"scope": self.scope, "ident": ident}


class SessionCreateThrottle(_SettingsRateThrottle):
    """New sessions per client address (CHAT_THROTTLE_SESSION_CREATE), apart from its messages: starting
    sessions is how a flood would push other readers out of the store."""

    scope = "chat_session_create"

    def get_cache_key(self, request, view) -> str | None:
        action = getattr(view, "action", None)
        given = request.data.get("session_id") if isinstance(request.data, dict) else None
        if not (action == "create" or (action == "converse" and not given)):
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
