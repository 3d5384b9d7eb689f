"""The admin index's panels: the content loop, and the chat in the book."""

from django import template
from django.templatetags.static import static

from ..selectors import coverage_summary, widget_embedding

register = template.Library()


@register.inclusion_tag("admin/chat_coverage_panel.html")
def coverage_panel() -> dict:
    """Answers of the last 7 days, the shares not answered and rated down, and the top open gaps."""
    return {"summary": coverage_summary()}


@register.inclusion_tag("admin/chat_embed_panel.html", takes_context=True)
def embed_panel(context: template.Context) -> dict:
    """The widget's tag with this server's address, and whether the book's sites may call it."""
    request = context["request"]
    return {
        "embed": widget_embedding(
            script_url=request.build_absolute_uri(static("chat/widget.js")),
            server_origin=request.build_absolute_uri("/").rstrip("/"),
        )
    }
