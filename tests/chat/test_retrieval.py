"""Query embedding in batches: concurrent questions share one model call and get their own vectors."""

import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from chat.retrieval import EmbeddingBatcher, QueryEmbedder
from knowledge.embedders import document_embed_many, shared_document_embedder, shared_text_embedder

QUESTIONS = [f"Question {n}: how does the snowy owl hunt on the tundra in winter number {n}?" for n in range(16)]


def counting_model(batches: list[int], *, before_call: Callable[[], object] = lambda: None):
    """The real offline model, noting each call's number of texts in ``batches``; ``before_call`` runs first."""
    embed_many = document_embed_many(shared_document_embedder())

    def embed(texts: list[str]):
        batches.append(len(texts))
        before_call()
        return embed_many(texts)

    return embed


def asking(batcher: EmbeddingBatcher) -> tuple[list[threading.Thread], dict[int, np.ndarray]]:
    """One thread per question, each embedding it through ``batcher``; the vectors they got, by question."""
    results: dict[int, np.ndarray] = {}

    def ask(n: int) -> None:
        results[n] = np.asarray(batcher.embed(QUESTIONS[n]))

    return [threading.Thread(target=ask, args=(n,)) for n in range(len(QUESTIONS))], results


def assert_each_got_its_own_vector(results: dict[int, np.ndarray]) -> None:
    single = shared_text_embedder()
    assert len(results) == len(QUESTIONS)
    for n, vector in results.items():
        expected = np.asarray(single.run(text=QUESTIONS[n])["embedding"])
        assert float(vector @ expected) > 0.9999  # the same vector as embedding the question alone


def test_concurrent_queries_are_embedded_together_and_each_gets_its_own_vector():
    batches: list[int] = []
    release = threading.Event()
    # The first call is held, so the others queue behind it.
    batcher = EmbeddingBatcher(
        embed_many=counting_model(batches, before_call=lambda: release.wait(timeout=10)), max_batch=32
    )
    threads, results = asking(batcher)
    threads[0].start()
    while not batches:
        pass
    for thread in threads[1:]:
        thread.start()
    release.set()
    for thread in threads:
        thread.join()
    assert batches[0] == 1 and sum(batches) == len(QUESTIONS)
    assert len(batches) < len(QUESTIONS) // 2  # the fifteen that waited went in one or a few calls
    assert_each_got_its_own_vector(results)


def test_a_failed_model_call_fails_every_question_in_it_and_the_next_call_works():
    calls = []

    def flaky(texts: list[str]):
        calls.append(texts)
        if len(calls) == 1:
            raise RuntimeError("model crashed")
        return [np.ones(3) for _ in texts]

    batcher = EmbeddingBatcher(embed_many=flaky)
    with pytest.raises(RuntimeError, match="model crashed"):
        batcher.embed("first")
    assert list(batcher.embed("second")) == [1.0, 1.0, 1.0]


def test_query_embedder_returns_a_float32_array():
    embedder = QueryEmbedder(batcher=EmbeddingBatcher(embed_many=document_embed_many(shared_document_embedder())))
    embedding = embedder.run(text="Where do snowy owls live?")["embedding"]
    assert embedding.dtype == np.float32 and embedding.shape == (384,)


def test_a_lone_readers_questions_never_wait_for_others():
    batches: list[int] = []
    batcher = EmbeddingBatcher(embed_many=counting_model(batches), linger=2.0)
    batcher.embed("warm-up")
    started = time.monotonic()
    for question in QUESTIONS[:5]:  # one after the other, as one reader asks
        batcher.embed(question)
    assert time.monotonic() - started < 2.0  # not one of them waited out the linger
    assert batches == [1] * 6


def test_while_others_ask_a_batch_gathers_what_arrives_within_the_linger():
    batches: list[int] = []
    # A model slower than the questions come: the second arrives while the first runs.
    batcher = EmbeddingBatcher(embed_many=counting_model(batches, before_call=lambda: time.sleep(0.04)), linger=0.3)
    threads, results = asking(batcher)
    started = time.monotonic()
    for thread in threads:  # a question every 25 ms
        thread.start()
        time.sleep(0.025)
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert sum(batches) == len(QUESTIONS)
    # One call to find others asking, then at most one per linger.
    assert len(batches) <= 2 + elapsed / 0.3 < len(QUESTIONS) // 2, batches
    assert_each_got_its_own_vector(results)
