"""OpenAPI descriptions drf-spectacular cannot infer."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "chat.security.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Needed only when the server sets CHAT_API_KEYS. `X-API-Key: <key>` works too.",
        }
