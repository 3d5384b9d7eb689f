"""The content loop's writes: redaction, grouping by meaning with the real model, purging, background recording."""

import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat import concurrency, feedback_services, lifecycle
from chat.concurrency import drain_background, run_later, shutdown_worker_pool
from chat.engine import get_chat_engine
from chat.feedback_services import (
    answer_counts_write,
    answer_record,
    answer_tally,
    feedback_purge,
    gap_groups_assign,
    redact,
)
from chat.models import AnswerCount, Feedback, Gap, GapGroup


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail me at a.b+c@mail.example.co.uk please", "mail me at [email] please"),
        ("call 415-555-0132 or +44 20 7946 0958", "call [phone] or [phone]"),
        ("my account is 12345678901234567890", "my account is [number]"),
        ("card 4111 1111 1111 1111 expires", "card [number] expires"),
        # What questions about a book hold is kept: years, dates, ranges, versions, model numbers, sizes.
        ("What changed between 1990-2000 and on 2024-01-15?", "What changed between 1990-2000 and on 2024-01-15?"),
        ("Does ROS 2 Humble run on Ubuntu 22.04?", "Does ROS 2 Humble run on Ubuntu 22.04?"),
        ("Is the BME280 better than the SHT45 at 100000 Pa?", "Is the BME280 better than the SHT45 at 100000 Pa?"),
    ],
)
def test_redact(text, expected, settings):
    settings.CHAT_REDACT_QUESTIONS = True
    assert redact(text) == expected


TOPICS = {
    "imu": [
        "How do I calibrate the IMU?",
        "What is the procedure for IMU calibration?",
        "How can I calibrate my inertial measurement unit (IMU)?",
    ],
    "price": ["What is the price of the robot kit?", "How much does the robot kit cost?"],
    "ros-windows": ["How do I install ROS 2 on Windows?", "Installing ROS2 on a Windows machine"],
    "capital": ["What is the capital of France?", "Which city is the capital of France?"],
    "camera": ["How do I calibrate the camera?"],
    "battery": ["How long does the robot's battery last?"],
    "author": ["Who wrote this book?"],
}


def record_unanswered(question: str) -> None:
    answer_tally(status="no_answer")  # as the chat services do before they queue the record
    answer_record(
        answer_id="0" * 32,
        status="no_answer",
        question=question,
        selected_text=None,
        query=question,
        embedding=get_chat_engine().embed_query(question),
    )


@pytest.mark.django_db
def test_questions_of_one_meaning_share_a_group_and_other_topics_do_not():
    # Interleaved, as readers ask them.
    order = [questions[i] for i in range(3) for questions in TOPICS.values() if i < len(questions)]
    for question in order:
        record_unanswered(question)
    group_of = dict(Gap.objects.values_list("question", "group_id"))
    for topic, questions in TOPICS.items():
        assert len({group_of[q] for q in questions}) == 1, f"{topic} split across groups"
    groups = [group_of[questions[0]] for questions in TOPICS.values()]
    assert len(set(groups)) == len(TOPICS), "different topics share a group"
    imu = GapGroup.objects.get(id=group_of[TOPICS["imu"][0]])
    assert imu.label == TOPICS["imu"][0]  # a group is named after its first question
    assert imu.gaps.count() == 3


@pytest.mark.django_db
def test_questions_of_one_shape_about_different_things_do_not_share_a_group():
    # Sentence embeddings put these closer than many paraphrases; their words tell them apart.
    for question in [
        "What is the boiling point of garnet?",
        "What is the boiling point of marble?",
        "How do I install ROS 2 on Windows?",
        "How do I install ROS 2 on macOS?",
        "How is the lynx pronounced in French?",
        "How is the walrus pronounced in French?",
        "How do I install ROS 2 on a Windows computer?",
    ]:
        record_unanswered(question)
    group_of = dict(Gap.objects.values_list("question", "group_id"))
    assert group_of["What is the boiling point of garnet?"] != group_of["What is the boiling point of marble?"]
    assert group_of["How do I install ROS 2 on Windows?"] != group_of["How do I install ROS 2 on macOS?"]
    assert group_of["How is the lynx pronounced in French?"] != group_of["How is the walrus pronounced in French?"]
    assert group_of["How do I install ROS 2 on a Windows computer?"] == group_of["How do I install ROS 2 on Windows?"]


@pytest.mark.django_db
def test_a_resolved_group_opens_again_when_asked_again_and_a_dismissed_one_stays_dismissed():
    record_unanswered("How do I calibrate the IMU?")
    record_unanswered("What is the capital of France?")
    imu, capital = GapGroup.objects.order_by("id")
    GapGroup.objects.filter(id=imu.id).update(status="resolved")
    GapGroup.objects.filter(id=capital.id).update(status="dismissed")
    record_unanswered("What is the procedure for IMU calibration?")
    record_unanswered("Which city is the capital of France?")
    imu.refresh_from_db()
    capital.refresh_from_db()
    assert imu.status == "open" and imu.check_note == "Asked again after it was resolved."
    assert capital.status == "dismissed"
    assert GapGroup.objects.count() == 2


@pytest.mark.django_db
def test_assigning_many_ungrouped_gaps_at_once_groups_them_as_one_at_a_time_would():
    engine = get_chat_engine()
    questions = [q for questions in TOPICS.values() for q in questions]
    Gap.objects.bulk_create(
        [Gap(reason="no_answer", question=q, query=q, embedding=engine.embed_query(q)) for q in questions]
    )
    assert gap_groups_assign() == len(questions)
    assert GapGroup.objects.count() == len(TOPICS)
    assert not Gap.objects.filter(group__isnull=True).exists()
    assert gap_groups_assign() == 0


@pytest.mark.django_db
def test_purge_deletes_what_is_older_than_the_age_and_empty_groups():
    record_unanswered("How do I calibrate the IMU?")
    record_unanswered("What is the capital of France?")
    old = timezone.now() - timedelta(days=120)
    Gap.objects.filter(question__contains="IMU").update(created_at=old)
    Feedback.objects.create(answer_id="1" * 32, rating="up")
    Feedback.objects.create(answer_id="2" * 32, rating="down")
    Feedback.objects.filter(answer_id="1" * 32).update(created_at=old)
    AnswerCount.objects.create(day=old.date(), status="answered", count=5)
    result = feedback_purge(before=timezone.now() - timedelta(days=90))
    assert (result.feedback, result.gaps, result.groups, result.counts) == (1, 1, 1, 1)
    assert list(Gap.objects.values_list("question", flat=True)) == ["What is the capital of France?"]
    assert list(Feedback.objects.values_list("answer_id", flat=True)) == ["2" * 32]
    assert GapGroup.objects.count() == 1
    assert AnswerCount.objects.get().status == "no_answer"


@pytest.mark.django_db
def test_purge_command_takes_an_age_and_refuses_a_bad_one():
    Feedback.objects.create(answer_id="1" * 32, rating="up")
    Feedback.objects.update(created_at=timezone.now() - timedelta(days=91))
    out = StringIO()
    call_command("purge_feedback", "--older-than", "90d", stdout=out)
    assert "Deleted 1 feedback row(s)" in out.getvalue()
    assert not Feedback.objects.exists()
    for bad in ("90", "0d", "ninety days", "-5d"):
        with pytest.raises(CommandError, match="--older-than"):
            call_command("purge_feedback", "--older-than", bad)


@pytest.fixture
def served(settings):
    """Recording on the background thread, as served: it leaves the answer's thread."""
    settings.CHAT_WORKER_THREADS = 2
    settings.CHAT_SESSION_SNAPSHOT = False
    shutdown_worker_pool()
    yield
    drain_background()
    shutdown_worker_pool()


@pytest.mark.django_db(transaction=True)
def test_served_recording_runs_on_the_background_thread_and_drains(served, knowledge):
    from chat.services import chat_reply, session_create

    session_id = session_create()
    reply = chat_reply(session_id=session_id, message="What is the boiling point of mercury in kelvin?")
    assert reply.status == "no_answer"
    drain_background()
    gap = Gap.objects.get()
    assert gap.answer_id == reply.answer_id and gap.group is not None
    assert AnswerCount.objects.get().count == 1


@pytest.mark.django_db
def test_groups_made_under_another_embedding_model_are_kept_apart():
    from chat.selectors import gap_group_closest

    old = GapGroup.objects.create(
        label="How do I calibrate the IMU?", centroid=[0.5] * 8, first_seen=timezone.now(), last_seen=timezone.now()
    )
    record_unanswered("How do I calibrate the IMU?")
    assert GapGroup.objects.count() == 2  # not compared with the old-sized centroid, and no error
    assert Gap.objects.get().group_id != old.id
    assert gap_group_closest(group=old) is None


def counts() -> dict[str, int]:
    return dict(AnswerCount.objects.values_list("status", "count"))


@pytest.mark.django_db
def test_answers_tallied_meanwhile_are_written_by_one_statement():
    AnswerCount.objects.create(day=timezone.localdate(), status="answered", count=5)
    for status in ("answered", "answered", "no_answer", "answered"):
        answer_tally(status=status)
    with CaptureQueriesContext(connection) as queries:
        assert answer_counts_write() == 4
    writes = [query["sql"] for query in queries if "chat_answercount" in query["sql"]]
    assert len(writes) == 1 and writes[0].startswith("INSERT")
    assert counts() == {"answered": 8, "no_answer": 1}
    with CaptureQueriesContext(connection) as queries:
        assert answer_counts_write() == 0  # the jobs queued behind the first find nothing left to write
    assert not queries.captured_queries


@pytest.mark.django_db
def test_counts_a_failed_write_could_not_store_are_kept_for_the_next(caplog):
    with connection.cursor() as cursor:  # every write to the counts now fails, inside Postgres
        cursor.execute("ALTER TABLE chat_answercount ADD CONSTRAINT refuse_all CHECK (false) NOT VALID")
    answer_tally(status="answered")
    answer_tally(status="no_answer")
    assert answer_counts_write() == 0
    assert "could not write 2 answer counts" in caplog.text
    assert not AnswerCount.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE chat_answercount DROP CONSTRAINT refuse_all")
    answer_tally(status="answered")
    assert answer_counts_write() == 3
    assert counts() == {"answered": 2, "no_answer": 1}


@pytest.mark.django_db
def test_a_graceful_stop_writes_the_counts_still_tallied(settings):
    settings.CHAT_SESSION_SNAPSHOT = False
    answer_tally(status="answered")
    answer_tally(status="answered")  # as a write that failed while the database was down leaves them
    lifecycle.server_stopping()
    assert counts() == {"answered": 2}


@pytest.fixture
def served_writes(served, monkeypatch):
    """Recording as served; the (seconds it began, answers) of each count write that wrote.

    When a write began, not when it ended: the period is between takes, and a first write that also opens the
    thread's database connection ends later than it took its counts."""
    writes, real = [], feedback_services.answer_counts_write

    def counting() -> int:
        began = time.monotonic()
        written = real()
        if written:
            writes.append((began, written))
        return written

    monkeypatch.setattr(feedback_services, "answer_counts_write", counting)
    return writes


def answer_given(status: str = "answered") -> None:
    """What the chat services do for each answer they give."""
    answer_tally(status=status)
    run_later(
        answer_record, answer_id="0" * 32, status=status, question="q", selected_text=None, query="q", embedding=None
    )


def total_count() -> int:
    return sum(AnswerCount.objects.values_list("count", flat=True))


@pytest.mark.django_db(transaction=True)
def test_served_answer_counts_are_written_at_most_once_a_period(served_writes):
    started = time.monotonic()
    for _ in range(50):
        answer_given()
    drain_background()
    while total_count() < 50 and time.monotonic() - started < 5:
        time.sleep(0.05)
    assert total_count() == 50
    # The first answer is written at once; those after it within the period wait for one more write.
    assert 1 <= len(served_writes) <= 2 and sum(n for _, n in served_writes) == 50
    if len(served_writes) == 2:
        assert served_writes[1][0] - served_writes[0][0] >= 0.9 * feedback_services.ANSWER_COUNT_SECONDS
    time.sleep(feedback_services.ANSWER_COUNT_SECONDS + 0.2)
    answer_given()  # a period later: written at once again
    drain_background()
    assert total_count() == 51 and len(served_writes) <= 3


@pytest.mark.django_db(transaction=True)
def test_a_graceful_stop_writes_the_counts_of_a_scheduled_write_and_cancels_it(served_writes):
    answer_given()
    drain_background()
    answer_given("no_answer")  # within the period: its write is scheduled
    drain_background()
    assert total_count() == 1
    lifecycle.server_stopping()  # its own last write
    assert dict(AnswerCount.objects.values_list("status", "count")) == {"answered": 1, "no_answer": 1}
    time.sleep(feedback_services.ANSWER_COUNT_SECONDS + 0.2)
    assert len(served_writes) == 1  # the scheduled write never ran
    assert concurrency._background is None  # nor started a background thread after the stop
