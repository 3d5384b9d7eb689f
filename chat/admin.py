"""The content loop in the admin: coverage gaps (what the book did not answer), reader feedback, and how often
each document was cited in rated answers. Thin: actions call services, columns call selectors."""

import csv

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from knowledge.admin import SourceDocumentAdmin
from knowledge.models import SourceDocument

from . import feedback_services, selectors, services
from .exceptions import ChatError
from .models import Feedback, Gap, GapGroup

# The admin index shows the content loop's panel above the app list.
admin.site.index_template = "admin/chat_index.html"


def _document_link(document_id: int, title: str, section: str = "") -> str:
    url = reverse("admin:knowledge_sourcedocument_change", args=[document_id])
    return format_html('<a href="{}">{}</a>', url, f"{title} — {section}" if section else title)


class GapStatusFilter(admin.SimpleListFilter):
    """Open groups by default; resolved and dismissed ones on request."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [*GapGroup.Status.choices, ("all", "All")]

    def choices(self, changelist):
        value = self.value() or GapGroup.Status.OPEN
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value() or GapGroup.Status.OPEN
        if value == "all":
            return queryset
        if value not in GapGroup.Status.values:
            return queryset.none()  # a hand-made URL: show nothing rather than fail
        return queryset.filter(status=value)


class GapInline(admin.TabularInline):
    model = Gap
    fields = ["created_at", "reason", "question", "selection", "nearest_passages"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request: HttpRequest, obj: GapGroup | None = None) -> bool:
        return False

    @admin.display(description="Selected text")
    def selection(self, obj: Gap) -> str:
        return Truncator(obj.selected_text).chars(160) or "-"

    @admin.display(description="Closest passages when asked")
    def nearest_passages(self, obj: Gap) -> str:
        return (
            format_html_join(
                "",
                "<div>{} ({})</div>",
                (
                    (
                        _document_link(p["document_id"], p["title"], p["section"]),
                        f"{p['similarity']:.2f}",
                    )
                    for p in obj.nearest
                ),
            )
            or "-"
        )


@admin.register(GapGroup)
class GapGroupAdmin(admin.ModelAdmin):
    list_display = ["question", "size", "examples", "closest", "first_seen", "last_seen", "status", "check_note"]
    list_filter = [GapStatusFilter]
    search_fields = ["label", "gaps__question"]
    actions = ["recheck", "dismiss", "reopen"]
    fields = ["label", "status", "size", "first_seen", "last_seen", "closest", "checked_at", "check_note"]
    readonly_fields = fields
    inlines = [GapInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[GapGroup]:
        return selectors.gap_groups_listed()

    def get_ordering(self, request: HttpRequest) -> list[str]:
        # Largest first, then the most recently asked ("size" is an annotation, so not in `ordering`).
        return ["-size", "-last_seen", "-id"]

    def get_search_results(self, request, queryset, search_term):
        queryset, _ = super().get_search_results(request, queryset, search_term)
        return queryset, True  # searching the questions joins the gaps: one row per group

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Question", ordering="label")
    def question(self, obj: GapGroup) -> str:
        return Truncator(obj.label).chars(120)

    @admin.display(description="Asked", ordering="size")
    def size(self, obj: GapGroup) -> int:
        return obj.size

    @admin.display(description="Examples")
    def examples(self, obj: GapGroup) -> str:
        return format_html_join(
            "", "<div>{}</div>", ((Truncator(q).chars(100),) for q in selectors.gap_group_examples(group=obj))
        )

    @admin.display(description="What the book says closest")
    def closest(self, obj: GapGroup) -> str:
        passage = selectors.gap_group_closest(group=obj)
        if passage is None:
            return "Nothing in the book yet."
        return format_html(
            "{} <small>(similarity {})</small><div><small>{}</small></div>",
            _document_link(passage.document_id, passage.title, passage.section),
            f"{passage.similarity:.2f}",
            Truncator(passage.excerpt).chars(160),
        )

    @admin.action(description="Re-check now: ask these questions again", permissions=["change"])
    def recheck(self, request: HttpRequest, queryset: QuerySet[GapGroup]) -> None:
        for group in queryset:
            try:
                result = feedback_services.gap_group_recheck(group=group, ask=services.question_status)
            except ChatError as error:
                self.message_user(request, f"Could not re-check “{group}”: {error.detail}", messages.ERROR)
                return
            if result.resolved:
                note = f"“{group}”: all {result.asked} question(s) are answered now; the group is resolved."
                self.message_user(request, note, messages.SUCCESS)
            else:
                note = f"“{group}”: {result.answered} of {result.asked} question(s) are answered now; it stays open."
                self.message_user(request, note, messages.WARNING)

    @admin.action(description="Dismiss (off-topic)", permissions=["change"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet[GapGroup]) -> None:
        count = feedback_services.gap_groups_set_status(groups=queryset, status=GapGroup.Status.DISMISSED)
        self.message_user(request, f"Dismissed {count} group(s).")

    @admin.action(description="Reopen", permissions=["change"])
    def reopen(self, request: HttpRequest, queryset: QuerySet[GapGroup]) -> None:
        count = feedback_services.gap_groups_set_status(groups=queryset, status=GapGroup.Status.OPEN)
        self.message_user(request, f"Reopened {count} group(s).")


class CitedDocumentFilter(admin.SimpleListFilter):
    title = "document cited"
    parameter_name = "document"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        cited = SourceDocument.objects.filter(feedback__isnull=False).distinct().order_by("title")
        return [(str(document.pk), document.title) for document in cited.only("id", "title")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(documents__id=int(value))


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    class Media:
        css = {"all": ["chat/admin.css"]}

    list_display = ["created_at", "rating_badge", "question_excerpt", "comment", "cited", "generator", "status"]
    list_filter = ["rating", ("created_at", admin.DateFieldListFilter), CitedDocumentFilter, "status"]
    search_fields = ["question", "answer", "comment"]
    date_hierarchy = "created_at"
    actions = ["export_csv"]
    fields = ["rating", "comment", "question", "selected_text", "answer", "cited", "generator", "status", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Feedback | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Feedback]:
        return super().get_queryset(request).prefetch_related("documents")

    @admin.display(description="Rating", ordering="rating")
    def rating_badge(self, obj: Feedback) -> str:
        return format_html('<strong class="rating-badge rating-{}">{}</strong>', obj.rating, obj.get_rating_display())

    @admin.display(description="Question")
    def question_excerpt(self, obj: Feedback) -> str:
        return Truncator(obj.question).chars(100) or "-"

    @admin.display(description="Cited")
    def cited(self, obj: Feedback) -> str:
        documents = list(obj.documents.all())
        if not documents:
            return "-"
        return format_html_join(", ", "{}", ((_document_link(d.pk, d.title),) for d in documents))

    @admin.action(description="Export selected as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Feedback]) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="feedback-{stamp}.csv"'
        writer = csv.writer(response)
        for row in selectors.feedback_csv_rows(feedback=queryset):
            writer.writerow(row)
        return response


# The document list gains how often readers rated answers that cited each document.
admin.site.unregister(SourceDocument)


@admin.register(SourceDocument)
class SourceDocumentWithFeedbackAdmin(SourceDocumentAdmin):
    list_display = [*SourceDocumentAdmin.list_display, "cited_up", "cited_down"]
    readonly_fields = [*SourceDocumentAdmin.readonly_fields, "cited_up", "cited_down"]
    fieldsets = [*SourceDocumentAdmin.fieldsets, ("Reader feedback", {"fields": ["cited_up", "cited_down"]})]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SourceDocument]:
        return selectors.document_feedback_counts(super().get_queryset(request))

    @admin.display(description="👍 cited", ordering="cited_up")
    def cited_up(self, obj: SourceDocument) -> int:
        return getattr(obj, "cited_up", 0)  # a new document has no count

    @admin.display(description="👎 cited", ordering="cited_down")
    def cited_down(self, obj: SourceDocument) -> int:
        return getattr(obj, "cited_down", 0)
