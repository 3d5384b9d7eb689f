"""The admin index's content-loop panel."""

from django import template

from ..selectors import coverage_summary

register = template.Library()


@register.inclusion_tag("admin/chat_coverage_panel.html")
def coverage_panel() -> dict:
    """Answers of the last 7 days, the shares not answered and rated down, and the top open gaps."""
    return {"summary": coverage_summary()}
