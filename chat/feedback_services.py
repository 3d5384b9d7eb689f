"""Writes of the content loop: answer counts, reader feedback, unanswered questions and their groups.

Recording runs off the answer's path (see ``concurrency.run_later``) and never breaks an answer: a database
error while recording is logged, and a question it was keeping is dropped; answer counts are kept for the next
write.
"""

import logging
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, F, Func, IntegerField
from django.utils import timezone
from pgvector.django import CosineDistance

from chatbot_site.locks import locked_transaction
from knowledge.models import SourceDocument
from knowledge.selectors import passages_nearest

from .answering import ReplyStatus
from .concurrency import run_after
from .engine import get_chat_engine
from .models import AnswerCount, Feedback, Gap, GapGroup, Rating
from .text import focus_words

logger = logging.getLogger(__name__)

MAX_COMMENT_CHARS = Feedback._meta.get_field("comment").max_length
NEAREST_PASSAGES = 3
RECHECK_QUESTIONS = 20
# Serialises grouping across processes (each has its own background thread): any fixed 64-bit key.
_GROUPING_LOCK = 7_318_220_411

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A run of digits with the separators phone numbers use; how many digits it holds decides what it is.
_DIGIT_RUN = re.compile(r"(?<![\w+])\+?\(?\d[\d ().\-]*\d(?![\w])")
_DATE_OR_RANGE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{4} ?- ?\d{4}")
# Served, answer counts are written at most this often (seconds): under load one commit, a flush of the
# database's log to disk, then carries a second's answers instead of one answer each (docs/benchmarks.md).
ANSWER_COUNT_SECONDS = 1.0


def _digits(match: re.Match) -> str:
    text = match.group(0)
    count = sum(char.isdigit() for char in text)
    if count < 7 or _DATE_OR_RANGE.fullmatch(text):
        return text  # years, versions, quantities, dates and year ranges stay
    separated = any(char in " ().-+" for char in text)
    return "[phone]" if separated and count <= 15 else "[number]"


def redact(text: str) -> str:
    """The text with e-mail addresses, phone numbers and long digit runs replaced (CHAT_REDACT_QUESTIONS)."""
    if not text or not settings.CHAT_REDACT_QUESTIONS:
        return text
    return _DIGIT_RUN.sub(_digits, _EMAIL.sub("[email]", text))


class AnswerTally:
    """Answers counted but not yet written, per (day, status): what the next write adds to AnswerCount.

    Each answer is tallied as it is given, and one write, at most once a period, adds whatever has accumulated:
    under load one statement and one commit carry many answers instead of one each. A write that fails gives its
    counts back for the next one. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[date, str]] = Counter()
        self._taken_at = -math.inf  # time.monotonic() of the last take()
        self._claimed = False  # a write is due or scheduled
        self._timer: threading.Timer | None = None

    def add(self, *, day: date, status: str) -> None:
        with self._lock:
            self._counts[(day, status)] += 1

    def take(self) -> Counter[tuple[date, str]]:
        """The counts so far, leaving none behind (a write scheduled for them is no longer needed)."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
            self._taken_at, self._claimed = time.monotonic(), False
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        return counts

    def give_back(self, counts: Counter[tuple[date, str]]) -> None:
        with self._lock:
            self._counts.update(counts)

    def reset(self) -> None:
        """No counts, nothing scheduled, and the next write due at once (tests)."""
        self.take()
        with self._lock:
            self._taken_at = -math.inf

    def claim_write(self, *, every: float) -> float | None:
        """Seconds until a write is due (at most one take per ``every`` seconds), claiming it for the caller;
        None when a write is already claimed."""
        with self._lock:
            if self._claimed:
                return None
            self._claimed = True
            return self._taken_at + every - time.monotonic()

    def hold(self, timer: threading.Timer | None) -> None:
        """The timer of the claimed write, so a take() before it fires cancels it."""
        with self._lock:
            if self._claimed:
                self._timer = timer
                return
        if timer is not None:
            timer.cancel()  # taken meanwhile


_tally = AnswerTally()


def answer_tally(*, status: str) -> None:
    """Count one answer given now (in memory: cheap enough for the answer's own path); answer_counts_write()
    stores it."""
    _tally.add(day=timezone.localdate(), status=status)


def answer_counts_write() -> int:
    """Add the answers tallied so far to AnswerCount in one statement; how many were written.

    On a database error the counts stay tallied for the next write (logged), so an outage loses none.
    """
    counts = _tally.take()
    if not counts:
        return 0
    table = AnswerCount._meta.db_table
    rows = ", ".join(["(%s, %s, %s)"] * len(counts))
    params = [value for (day, status), count in counts.items() for value in (day, status, count)]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (day, status, count) VALUES {rows} "
                f"ON CONFLICT (day, status) DO UPDATE SET count = EXCLUDED.count + {table}.count",
                params,
            )
    except DatabaseError:
        _tally.give_back(counts)
        logger.exception("could not write %d answer counts; kept for the next write", sum(counts.values()))
        return 0
    return sum(counts.values())


def answer_counts_write_soon() -> None:
    """Write the tallied counts now if the last write is ANSWER_COUNT_SECONDS old, or else schedule one write for
    when it is (on the background thread; with none, as in the test suite, now)."""
    wait = _tally.claim_write(every=ANSWER_COUNT_SECONDS)
    if wait is None:
        return
    if wait <= 0:
        answer_counts_write()
        return
    _tally.hold(run_after(answer_counts_write, seconds=wait))


def answer_tally_discard() -> None:
    """Forget the counts not yet written and when the last write was (tests)."""
    _tally.reset()


def _nearest(embedding: Any) -> list[dict]:
    return [passage.to_dict() for passage in passages_nearest(embedding=embedding, top_k=NEAREST_PASSAGES)]


def _gap_add(*, reason: str, question: str, selected_text: str, query: str, embedding: Any, answer_id: str) -> Gap:
    gap = Gap.objects.create(
        reason=reason,
        question=redact(question),
        selected_text=redact(selected_text),
        query=redact(query),
        embedding=np.asarray(embedding, dtype=np.float32),
        nearest=_nearest(embedding),
        answer_id=answer_id,
    )
    gap_groups_assign(gaps=[gap])
    return gap


def answer_record(
    *,
    answer_id: str,
    status: str,
    question: str,
    selected_text: str | None,
    query: str,
    embedding: Any,
) -> None:
    """After answer_tally(): see that the answer counts are written (this answer's and any since, at most once a
    second) and keep the question as a gap when the book did not answer it (CHAT_RECORD_QUESTIONS).

    Never raises for a database error: recording must not cost a reader the answer.
    """
    answer_counts_write_soon()
    unanswered = status in {ReplyStatus.NO_ANSWER, ReplyStatus.SELECTION_ONLY}
    if not (unanswered and settings.CHAT_RECORD_QUESTIONS and embedding is not None):
        return
    try:
        with transaction.atomic():
            _gap_add(
                reason=status,
                question=question,
                selected_text=selected_text or "",
                query=query,
                embedding=embedding,
                answer_id=answer_id,
            )
    except DatabaseError:
        logger.exception("could not record an answer's question (status=%s); the reader got the answer", status)


@dataclass(frozen=True)
class RatedAnswer:
    """What a reader rated: the answer and the question before it, as the session kept them."""

    answer_id: str
    question: str
    selected_text: str
    answer: str
    sources: list[dict]
    generator: str
    status: str
    query: str


def feedback_save(*, rated: RatedAnswer, rating: str, comment: str, embedding: Any | None) -> Feedback:
    """Store (or change) the rating of one answer. A thumbs down also keeps the question as a gap; changing it
    to a thumbs up takes that gap back. With CHAT_RECORD_QUESTIONS off, only the rating and its sources stay."""
    record = settings.CHAT_RECORD_QUESTIONS
    sources = [
        {key: source.get(key) for key in ("title", "reference", "section", "chunk_id", "document_id")}
        for source in rated.sources
    ]
    with transaction.atomic():
        feedback, _ = Feedback.objects.update_or_create(
            answer_id=rated.answer_id,
            defaults={
                "rating": rating,
                "comment": redact(comment)[:MAX_COMMENT_CHARS] if record else "",
                "question": redact(rated.question) if record else "",
                "selected_text": redact(rated.selected_text) if record else "",
                "answer": redact(rated.answer) if record else "",
                "sources": sources,
                "generator": rated.generator,
                "status": rated.status,
            },
        )
        document_ids = {source["document_id"] for source in sources if source.get("document_id")}
        feedback.documents.set(SourceDocument.objects.filter(id__in=document_ids))
        rated_down = Gap.objects.filter(answer_id=rated.answer_id, reason=Gap.Reason.RATED_DOWN)
        if rating == Rating.DOWN and record and embedding is not None:
            if not rated_down.exists():
                _gap_add(
                    reason=Gap.Reason.RATED_DOWN,
                    question=rated.question,
                    selected_text=rated.selected_text,
                    query=rated.query,
                    embedding=embedding,
                    answer_id=rated.answer_id,
                )
        elif rating == Rating.UP:
            rated_down.delete()
    return feedback


def _normalised(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


# Two words this similar (cosine, the embedding model's) name the same thing: "cost" and "price", "ROS2" and "ROS".
SAME_WORD_SIMILARITY = 0.6
_WORD_VECTORS_KEPT = 20_000
_word_vectors: dict[str, np.ndarray] = {}


def _vectors_of_words(texts: Iterable[str]) -> dict[str, np.ndarray]:
    """The focus words of these texts and their vectors; words not seen before are embedded in shared calls."""
    words = {word for text in texts for word in focus_words(text).values()}
    missing = sorted(words - _word_vectors.keys())
    if missing:
        vectors = get_chat_engine().embed_texts(missing)
        learned = {w: _normalised(np.asarray(v, dtype=np.float32)) for w, v in zip(missing, vectors, strict=True)}
        if len(_word_vectors) + len(learned) <= _WORD_VECTORS_KEPT:
            _word_vectors.update(learned)
        return {**{word: _word_vectors[word] for word in words - learned.keys()}, **learned}
    return {word: _word_vectors[word] for word in words}


def _same_subject(question: str, label: str) -> bool:
    """Whether a question may join the group its label names, as far as their words tell.

    Sentence embeddings weigh the shape of a short question heavily: "What is the boiling point of garnet?" and
    "... of marble?" are closer than many paraphrases. So when each has a focus word the other lacks, and
    neither word has a near-synonym on the other side, they ask about different things.
    """
    mine, theirs = focus_words(question), focus_words(label)
    only_mine = [word for stemmed, word in mine.items() if stemmed not in theirs]
    only_theirs = [word for stemmed, word in theirs.items() if stemmed not in mine]
    if not only_mine or not only_theirs:
        return True
    vectors = _vectors_of_words([question, label])

    def unmatched(words: list[str], others: list[str]) -> bool:
        return any(
            max(float(vectors[word] @ vectors[other]) for other in others) < SAME_WORD_SIMILARITY for word in words
        )

    return not (unmatched(only_mine, only_theirs) and unmatched(only_theirs, only_mine))


def _dimensions(field: str) -> Func:
    return Func(F(field), function="vector_dims", output_field=IntegerField())


def _candidate_groups(vectors: list[Any], *, per_vector: int = 5) -> list[GapGroup]:
    """The existing groups nearest to any of the vectors (a few each): the only ones they may join."""
    ids: set[int] = set()
    for vector in vectors:
        same_size = GapGroup.objects.alias(dimensions=_dimensions("centroid")).filter(dimensions=len(vector))
        nearest = same_size.order_by(CosineDistance("centroid", vector)).values_list("id", flat=True)
        ids.update(nearest[:per_vector])
    return list(GapGroup.objects.filter(id__in=ids).annotate(size=Count("gaps")).order_by("id"))


def gap_groups_assign(*, gaps: Sequence[Gap] | None = None) -> int:
    """Put ungrouped gaps (all of them, or ``gaps``) into groups by meaning, oldest first; returns how many.

    A gap joins the group whose centroid is most similar to its query vector when that similarity reaches
    CHAT_GAP_GROUP_SIMILARITY, and starts a new group otherwise. Asked again, a resolved group opens again; a
    dismissed one stays dismissed.
    """
    with locked_transaction(key=_GROUPING_LOCK):
        pending = list(gaps) if gaps is not None else list(Gap.objects.filter(group__isnull=True).order_by("id"))
        pending = [gap for gap in pending if gap.group_id is None]
        if not pending:
            return 0
        groups = _candidate_groups([gap.embedding for gap in pending])
        known = len(groups)
        dimensions = settings.EMBEDDING_DIMENSIONS
        centroids = np.array([np.asarray(g.centroid, dtype=np.float32) for g in groups]).reshape(-1, dimensions)
        sums = centroids * np.array([max(g.size, 1) for g in groups], dtype=np.float32)[:, None]
        threshold = settings.CHAT_GAP_GROUP_SIMILARITY
        changed: set[int] = set()
        _vectors_of_words([gap.question for gap in pending] + [group.label for group in groups])  # one pass
        for gap in pending:
            vector = _normalised(np.asarray(gap.embedding, dtype=np.float32))
            similarities = centroids @ vector if len(groups) else np.empty(0)
            best = next(
                (
                    int(index)
                    for index in np.argsort(-similarities)
                    if similarities[index] >= threshold and _same_subject(gap.question, groups[index].label)
                ),
                -1,
            )
            if best >= 0:
                group = groups[best]
                sums[best] += vector
                centroids[best] = _normalised(sums[best])
                group.last_seen = max(group.last_seen, gap.created_at)
                if group.status == GapGroup.Status.RESOLVED:
                    group.status = GapGroup.Status.OPEN
                    group.check_note = "Asked again after it was resolved."
            else:
                group = GapGroup(
                    label=gap.question, first_seen=gap.created_at, last_seen=gap.created_at, centroid=vector
                )
                groups.append(group)
                centroids = np.vstack([centroids, vector])
                sums = np.vstack([sums, vector])
                best = len(groups) - 1
            changed.add(best)
            gap.group = group
        for index in changed:
            groups[index].centroid = centroids[index]
        GapGroup.objects.bulk_create([groups[index] for index in sorted(changed) if groups[index].pk is None])
        GapGroup.objects.bulk_update(
            [groups[index] for index in sorted(changed) if index < known],
            ["centroid", "last_seen", "status", "check_note"],
        )
        for gap in pending:
            gap.group_id = gap.group.pk
        Gap.objects.bulk_update(pending, ["group"])
    return len(pending)


@dataclass(frozen=True)
class RecheckResult:
    """What re-asking a group's questions found."""

    group_id: int
    asked: int
    answered: int

    @property
    def resolved(self) -> bool:
        return self.asked > 0 and self.answered == self.asked


def gap_group_recheck(*, group: GapGroup, ask: Any) -> RecheckResult:
    """Re-ask the group's questions (at most RECHECK_QUESTIONS, newest first) with ``ask(question,
    selected_text) -> status``; resolve the group when every one is answered now."""
    seen: set[tuple[str, str]] = set()
    questions = []
    for question, selected in group.gaps.order_by("-created_at").values_list("question", "selected_text"):
        if (question, selected) not in seen:
            seen.add((question, selected))
            questions.append((question, selected))
        if len(questions) >= RECHECK_QUESTIONS:
            break
    answered = sum(1 for question, selected in questions if ask(question, selected) == ReplyStatus.ANSWERED)
    result = RecheckResult(group_id=group.pk, asked=len(questions), answered=answered)
    group.checked_at = timezone.now()
    group.check_note = f"{answered} of {len(questions)} question(s) answered at the last re-check."
    if result.resolved:
        group.status = GapGroup.Status.RESOLVED
    group.save(update_fields=["checked_at", "check_note", "status"])
    return result


def gap_groups_set_status(*, groups: Iterable[GapGroup], status: str) -> int:
    """Dismiss, reopen or resolve groups by hand; returns how many changed."""
    ids = [group.pk for group in groups]
    return GapGroup.objects.filter(id__in=ids).exclude(status=status).update(status=status)


@dataclass(frozen=True)
class PurgeResult:
    feedback: int
    gaps: int
    groups: int
    counts: int


def feedback_purge(*, before: datetime) -> PurgeResult:
    """Delete feedback, gaps and answer counts older than ``before``, and groups left empty."""

    def deleted(queryset: Any, label: str) -> int:
        return queryset.delete()[1].get(label, 0)  # rows of that model, not of its many-to-many links

    with transaction.atomic():
        return PurgeResult(
            feedback=deleted(Feedback.objects.filter(created_at__lt=before), "chat.Feedback"),
            gaps=deleted(Gap.objects.filter(created_at__lt=before), "chat.Gap"),
            groups=deleted(GapGroup.objects.filter(gaps__isnull=True), "chat.GapGroup"),
            counts=deleted(AnswerCount.objects.filter(day__lt=before.date()), "chat.AnswerCount"),
        )
