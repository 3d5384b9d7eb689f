"""OpenAPI descriptions drf-spectacular cannot infer."""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "chat.security.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_requirement(self, auto_schema):
        # The schema follows the running configuration: without CHAT_API_KEYS the key is optional ({}).
        return {self.name: []} if settings.CHAT_API_KEYS else [{self.name: []}, {}]

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Needed only when the server sets CHAT_API_KEYS. `X-API-Key: <key>` works too.",
        }
