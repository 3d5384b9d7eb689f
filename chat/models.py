"""What readers tell the admins: ratings of answers, and the questions the book could not answer.

Sessions stay out of the database; these rows hold no session id, IP address or API key.
"""

from django.db import models
from pgvector.django import VectorField

from knowledge.models import SourceDocument


class Rating(models.TextChoices):
    UP = "up", "Helpful"
    DOWN = "down", "Not helpful"


class AnswerCount(models.Model):
    """Answers given per day and reply status: counts only, no text (the dashboard's denominators)."""

    day = models.DateField()
    status = models.CharField(max_length=20)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "status"], name="answer_count_unique_day_status")]

    def __str__(self) -> str:
        return f"{self.day} {self.status}: {self.count}"


class Feedback(models.Model):
    """A reader's rating of one answer (a second vote on the same answer changes it)."""

    answer_id = models.CharField(max_length=32, unique=True, editable=False)
    rating = models.CharField(max_length=4, choices=Rating.choices, db_index=True)
    comment = models.CharField(max_length=500, blank=True)
    question = models.TextField(blank=True)
    selected_text = models.TextField(blank=True)
    answer = models.TextField(blank=True)
    sources = models.JSONField(default=list, blank=True, help_text="The cited passages: title, reference, section.")
    documents = models.ManyToManyField(SourceDocument, blank=True, related_name="feedback", verbose_name="cited")
    generator = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, blank=True, verbose_name="reply status")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "feedback"

    def __str__(self) -> str:
        return f"{self.get_rating_display()}: {self.question[:60] or self.answer_id}"


class GapGroup(models.Model):
    """Unanswered questions that mean the same thing: one hole in the book."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    label = models.TextField(help_text="The group's first question.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    # Normalised sum of the members' query vectors: new questions join the group nearest to it. No fixed size:
    # groups made under another embedding model stay readable (they only match vectors of their own size).
    centroid = VectorField()
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    check_note = models.CharField(max_length=300, blank=True, help_text="What the last re-check found.")

    class Meta:
        ordering = ["-last_seen", "-id"]
        verbose_name = "coverage gap"

    def __str__(self) -> str:
        return self.label[:80]


class Gap(models.Model):
    """One question the book did not answer: the reply said so, answered only beside a selection, or was rated
    down."""

    class Reason(models.TextChoices):
        NO_ANSWER = "no_answer", "Not answered"
        SELECTION_ONLY = "selection_only", "Selection did not answer"
        RATED_DOWN = "rated_down", "Rated not helpful"

    group = models.ForeignKey(GapGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="gaps")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    question = models.TextField()
    selected_text = models.TextField(blank=True)
    query = models.TextField(blank=True, help_text="The standalone query retrieval used.")
    embedding = VectorField()
    nearest = models.JSONField(default=list, blank=True, help_text="The closest passages and their similarity.")
    answer_id = models.CharField(max_length=32, blank=True, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.question[:80]


class QuoteVector(models.Model):
    """The embedding of one piece the offline answerer may quote (a sentence, list item or table row, as it
    scores it), made at ingestion so that the first reader of a passage does not wait for it.

    Keyed by a hash of the embedding model and the piece's scoring text, not by chunk: a chunk rebuilt with the
    same text keeps its pieces' vectors. Deleting the document deletes them.
    """

    document = models.ForeignKey(SourceDocument, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64, db_index=True)
    embedding = VectorField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["document", "key"], name="quote_vector_unique_key")]

    def __str__(self) -> str:
        return self.key
