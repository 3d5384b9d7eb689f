"""Reads of the content loop (the admin dashboard's numbers, groups of unanswered questions, feedback exports) and
of the offline answerer's stored vectors."""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from chatbot_site.origins import browser_origin
from knowledge.embedders import embedding_spec
from knowledge.selectors import NearPassage, document_sites, passages_nearest

from .answering import ReplyStatus
from .models import AnswerCount, Feedback, Gap, GapGroup, QuoteVector, Rating

FEEDBACK_CSV_COLUMNS = [
    "created_at",
    "rating",
    "comment",
    "question",
    "selected_text",
    "answer",
    "cited",
    "generator",
    "status",
]
# A spreadsheet runs a cell that starts with one of these as a formula: such cells are written as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def gap_groups_listed() -> QuerySet[GapGroup]:
    """Groups with their size (``size``), largest first, then the most recently asked."""
    return GapGroup.objects.annotate(size=Count("gaps")).order_by("-size", "-last_seen", "-id")


def gap_group_examples(*, group: GapGroup, limit: int = 3) -> list[str]:
    """The group's newest distinct questions."""
    examples: list[str] = []
    for question in group.gaps.order_by("-created_at", "-id").values_list("question", flat=True)[: limit * 5]:
        if question not in examples:
            examples.append(question)
        if len(examples) == limit:
            break
    return examples


def gap_group_closest(*, group: GapGroup) -> NearPassage | None:
    """What the book says closest to the group's questions now (after any edits since they were asked)."""
    if len(group.centroid) != settings.EMBEDDING_DIMENSIONS:
        return None  # grouped under another embedding model: not comparable with today's passages
    nearest = passages_nearest(embedding=group.centroid, top_k=1)
    return nearest[0] if nearest else None


@dataclass(frozen=True)
class CoverageSummary:
    """The admin index's panel: how the last days' answers went, and the largest open gaps."""

    days: int
    answers: int
    not_answered: int
    rated_down: int
    top_gaps: list[GapGroup]

    @property
    def not_answered_share(self) -> float:
        return self.not_answered / self.answers if self.answers else 0.0

    @property
    def rated_down_share(self) -> float:
        return self.rated_down / self.answers if self.answers else 0.0


def coverage_summary(*, days: int = 7, top: int = 3) -> CoverageSummary:
    """Answers in the last ``days`` days (today included), the share not answered and rated down, top open gaps."""
    since = timezone.localdate() - timedelta(days=days - 1)
    unanswered = Q(status__in=[ReplyStatus.NO_ANSWER, ReplyStatus.SELECTION_ONLY])
    totals = AnswerCount.objects.filter(day__gte=since).aggregate(
        answers=Sum("count", default=0), not_answered=Sum("count", filter=unanswered, default=0)
    )
    start = timezone.now() - timedelta(days=days)
    rated_down = Feedback.objects.filter(rating=Rating.DOWN, created_at__gte=start).count()
    top_gaps = list(gap_groups_listed().filter(status=GapGroup.Status.OPEN)[:top])
    return CoverageSummary(days=days, top_gaps=top_gaps, rated_down=rated_down, **totals)


def _cell(value: object) -> str:
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def feedback_csv_rows(*, feedback: QuerySet[Feedback]) -> Iterator[list[str]]:
    """A header row, then one row per rating, safe to open in a spreadsheet."""
    yield FEEDBACK_CSV_COLUMNS
    for item in feedback.order_by("-created_at", "-id").iterator(chunk_size=500):
        cited = "; ".join(
            " — ".join(part for part in (source.get("title"), source.get("section")) if part) for source in item.sources
        )
        values = [
            item.created_at.isoformat(),
            item.rating,
            item.comment,
            item.question,
            item.selected_text,
            item.answer,
            cited,
            item.generator,
            item.status,
        ]
        yield [_cell(value) for value in values]


def document_feedback_counts(queryset: QuerySet) -> QuerySet:
    """Documents annotated with how many rated answers cited them: ``cited_up`` and ``cited_down``."""
    return queryset.annotate(
        cited_up=Count("feedback", filter=Q(feedback__rating=Rating.UP), distinct=True),
        cited_down=Count("feedback", filter=Q(feedback__rating=Rating.DOWN), distinct=True),
    )


def gaps_of(*, group: GapGroup) -> QuerySet[Gap]:
    """The group's questions, newest first."""
    return group.gaps.order_by("-created_at", "-id")


def quote_key(*, text: str, model_id: str) -> str:
    """What a piece's vector is stored under: the embedding model and the text it embeds."""
    return hashlib.sha256(f"{model_id}\n{text}".encode()).hexdigest()


def quote_vectors(*, texts: list[str]) -> dict[str, np.ndarray]:
    """The vectors stored at ingestion for these texts (``chat.extractive.embedded_texts``), for those found."""
    model_id = embedding_spec().model_id
    wanted = {quote_key(text=text, model_id=model_id): text for text in texts}
    rows = QuoteVector.objects.filter(key__in=list(wanted)).values_list("key", "embedding")
    return {wanted[key]: np.asarray(vector, dtype=float) for key, vector in rows}


@dataclass(frozen=True)
class BookSite:
    origin: str
    documents: int
    allowed: bool  # whether the widget on its pages may call this server (CORS, or this server's own origin)


@dataclass(frozen=True)
class WidgetEmbedding:
    """What a curator needs to put the chat in the book: the tag, and whether the book's sites may use it."""

    script_url: str
    keys_required: bool
    sites: list[BookSite]


def widget_embedding(*, script_url: str, server_origin: str) -> WidgetEmbedding:
    """The widget's tag for this server, and each site the book's documents link to with whether CORS lets it in."""
    # Settings hold each origin as a browser sends it (compared exactly, as django-cors-headers compares them).
    allowed = {*settings.CORS_ALLOWED_ORIGINS, browser_origin(server_origin)}
    return WidgetEmbedding(
        script_url=script_url,
        keys_required=bool(settings.CHAT_API_KEYS),
        sites=[
            BookSite(origin=origin, documents=count, allowed=origin in allowed) for origin, count in document_sites()
        ],
    )
