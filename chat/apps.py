from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from knowledge.signals import document_indexed  # noqa: PLC0415

        from . import schema  # noqa: F401, PLC0415 - registers the OpenAPI extension
        from .quote_services import on_document_indexed  # noqa: PLC0415

        document_indexed.connect(on_document_indexed, dispatch_uid="chat.quote_vectors")
