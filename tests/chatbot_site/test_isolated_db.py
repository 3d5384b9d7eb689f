"""The throwaway database of evaluations and benchmarks: what is done in it stays in it."""

import time

import pytest
from django.db import connection

from chat import feedback_services
from chat.concurrency import shutdown_worker_pool
from chat.models import AnswerCount
from chatbot_site.isolated_db import isolated_database


@pytest.mark.django_db(transaction=True)
def test_answer_counts_made_in_the_throwaway_database_are_written_there_not_later_to_the_real_one(settings):
    settings.CHAT_WORKER_THREADS = 2  # a write within the second after another waits on a timer
    feedback_services.answer_tally_discard()
    real = connection.settings_dict["NAME"]
    try:
        with isolated_database(suffix="isolated") as name:
            assert connection.settings_dict["NAME"] == name != real
            for _ in range(2):
                feedback_services.answer_tally(status="answered")
                feedback_services.answer_counts_write_soon()  # the first writes now, the second waits
            assert sum(AnswerCount.objects.values_list("count", flat=True)) == 1
        time.sleep(feedback_services.ANSWER_COUNT_SECONDS + 0.5)  # when the timer would have fired
        assert connection.settings_dict["NAME"] == real
        assert not AnswerCount.objects.exists()
        assert not feedback_services._tally.take()  # nothing left to write anywhere
    finally:
        shutdown_worker_pool()
        feedback_services.answer_tally_discard()
