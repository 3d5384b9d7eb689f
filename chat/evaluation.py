"""Answer and retrieval quality on SQuAD-format (or JSONL) question sets, through the real chat service."""

import functools
import json
import random
import re
import string
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.services import document_create, document_ingest

from .engine import get_chat_engine
from .pipeline import stage_timings
from .services import chat_reply, session_create
from .text import split_sentences


@dataclass(frozen=True)
class Article:
    """One source document of an evaluation set."""

    title: str
    text: str


@dataclass(frozen=True)
class Question:
    """A question with its gold answers and, where known, the article that answers it."""

    question: str
    answers: tuple[str, ...]
    document: str | None = None


@dataclass
class QuestionResult:
    """What the system did with one question."""

    question: Question
    rank: int | None  # 1-based rank of the first retrieved chunk with a gold answer from the right article
    evidence: float
    status: str
    answer: str
    answer_contains_gold: bool
    f1: float
    citation_valid: bool | None
    timings: dict[str, float] = field(default_factory=dict)


def load_questions(path: Path) -> tuple[list[Article], list[Question]]:
    """Read a SQuAD JSON file (articles and questions) or a JSONL file of questions."""
    if path.suffix == ".jsonl":
        questions = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                raw = json.loads(line)
                answers = raw.get("answers") or []
                answers = [answers] if isinstance(answers, str) else answers
                questions.append(Question(raw["question"], tuple(answers), raw.get("document")))
        return [], questions
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    articles, questions = [], []
    for article in data:
        title = article["title"].replace("_", " ")
        articles.append(Article(title=title, text="\n\n".join(p["context"] for p in article["paragraphs"])))
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                gold = tuple(dict.fromkeys(answer["text"] for answer in qa["answers"]))
                questions.append(Question(qa["question"], gold, title))
    return articles, questions


def sample(questions: list[Question], *, limit: int | None, seed: int) -> list[Question]:
    """A seeded random sample (all questions when limit is None)."""
    if limit is None or limit >= len(questions):
        return list(questions)
    return random.Random(seed).sample(questions, limit)


def ingest_articles(articles: Iterable[Article], *, progress: Callable[[Iterable], Iterable] = iter) -> int:
    """Ingest each article as one document; return the number of chunks."""
    chunks = 0
    for article in progress(list(articles)):
        document = document_create(title=article.title, text=article.text, source_key=f"eval:{article.title}")
        result = document_ingest(document=document)
        if result.error:
            raise RuntimeError(f"{article.title}: {result.error}")
        chunks += result.chunks
    return chunks


# SQuAD's ASCII punctuation and the typographic marks answers are written with: the offline answerer quotes in
# curly quotes, and a gold answer that ends its quote ("… is Daniel Andrews.”") must still be found.
_NO_PUNCTUATION = str.maketrans("", "", string.punctuation + "“”‘’«»–—…")


@functools.lru_cache(maxsize=8192)  # benchmarks check the same chunks against many questions
def normalize_answer(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, articles or extra spaces."""
    text = text.lower().translate(_NO_PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1."""
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = Counter(predicted) & Counter(expected)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(expected)
    return 2 * precision * recall / (precision + recall)


def contains_gold(text: str, answers: Iterable[str]) -> bool:
    """Whether a text contains one of the gold answers (normalised)."""
    haystack = f" {normalize_answer(text)} "
    return any(f" {normalize_answer(answer)} " in haystack for answer in answers if normalize_answer(answer))


def _answer_sentences(answer: str) -> list[str]:
    quoted = re.findall(r"“(.+?)”", answer)
    if quoted:
        return quoted
    clean = re.sub(r"\[\d+\]", "", answer)
    return [clean[s:e] for s, e in split_sentences(clean)] or [clean]


def evaluate_question(question: Question, *, retrieval_k: int = 10) -> QuestionResult:
    """Retrieve (for hit@k and MRR), then answer through the chat service in a fresh session."""
    pipelines = get_chat_engine().pipelines
    with stage_timings():
        retrieved = pipelines.retrieval.run(
            {"rewriter": {"message": question.question, "history": []}, "retriever": {"top_k": retrieval_k}}
        )
    gated = retrieved["retriever"]
    documents = gated.get("documents") or gated.get("no_answer") or []
    rank = None
    for position, doc in enumerate(documents, start=1):
        right_article = question.document is None or doc.meta.get("title") == question.document
        if right_article and contains_gold(doc.content or "", question.answers):
            rank = position
            break
    reply = chat_reply(session_id=session_create(), message=question.question)
    answered = reply.status == "answered"
    f1 = 0.0
    if answered and question.answers:
        f1 = max(token_f1(sentence, gold) for sentence in _answer_sentences(reply.answer) for gold in question.answers)
    citation_valid = None
    if answered:
        citation_valid = any(contains_gold(text, question.answers) for text in _cited_texts(reply))
    return QuestionResult(
        question=question,
        rank=rank,
        evidence=float(gated.get("evidence", 0.0)),
        status=reply.status,
        answer=reply.answer,
        answer_contains_gold=answered and contains_gold(reply.answer, question.answers),
        f1=f1,
        citation_valid=citation_valid,
        timings=reply.timings_ms,
    )


def _cited_texts(reply: Any) -> list[str]:
    """The full text of each cited chunk (the reply carries only snippets)."""
    from knowledge.models import Chunk  # noqa: PLC0415

    ids = [source.chunk_id for source in reply.sources if source.chunk_id]
    texts = dict(Chunk.objects.filter(id__in=ids).values_list("id", "text"))
    return [texts.get(source.chunk_id, source.snippet) for source in reply.sources]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), by nearest rank."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarize(answerable: list[QuestionResult], unanswerable: list[QuestionResult]) -> dict[str, Any]:
    """The metrics of an evaluation run."""
    n = len(answerable) or 1

    def hit(k: int) -> float:
        return sum(1 for r in answerable if r.rank is not None and r.rank <= k) / n

    answered = [r for r in answerable if r.status == "answered"]
    cited = [r for r in answered if r.citation_valid is not None]
    totals = [r.timings.get("total", 0.0) for r in answerable + unanswerable]
    stages = sorted({stage for r in answerable + unanswerable for stage in r.timings})
    return {
        "questions": len(answerable),
        "hit@1": round(hit(1), 4),
        "hit@5": round(hit(5), 4),
        "hit@10": round(hit(10), 4),
        "mrr": round(sum(1 / r.rank for r in answerable if r.rank) / n, 4),
        "answer_contains_gold": round(sum(r.answer_contains_gold for r in answerable) / n, 4),
        "f1": round(sum(r.f1 for r in answerable) / n, 4),
        "citation_valid": round(sum(bool(r.citation_valid) for r in cited) / (len(cited) or 1), 4),
        "abstain_rate": round(sum(r.status == "no_answer" for r in unanswerable) / len(unanswerable), 4)
        if unanswerable
        else None,
        "false_abstain_rate": round(sum(r.status == "no_answer" for r in answerable) / n, 4),
        "p50_ms": round(percentile(totals, 50), 1),
        "p95_ms": round(percentile(totals, 95), 1),
        "stages_ms": {
            stage: {
                "p50": round(
                    percentile([r.timings[stage] for r in answerable + unanswerable if stage in r.timings], 50), 1
                ),
                "p95": round(
                    percentile([r.timings[stage] for r in answerable + unanswerable if stage in r.timings], 95), 1
                ),
            }
            for stage in stages
        },
    }


def article_folds(titles: list[str], *, folds: int, seed: int) -> list[list[str]]:
    """The articles split into ``folds`` groups of (nearly) equal size, shuffled with ``seed``: questions about
    one article never land on both sides of a split."""
    shuffled = sorted(set(titles))
    random.Random(seed).shuffle(shuffled)
    return [shuffled[index::folds] for index in range(folds)]


def first_gold_rank(hits: Iterable[Any], *, question: Question, limit: int = 10) -> int | None:
    """The 1-based rank of the first hit (a ChunkHit) from the question's article that holds a gold answer."""
    for rank, hit in enumerate(hits, start=1):
        if rank > limit:
            break
        if (question.document is None or hit.document_title == question.document) and contains_gold(
            hit.text, question.answers
        ):
            return rank
    return None


def rank_measures(ranks: list[int | None]) -> dict[str, float]:
    """hit@1, hit@5, hit@10 and MRR of a list of first-gold ranks."""
    n = len(ranks) or 1
    return {
        "hit@1": sum(r is not None and r <= 1 for r in ranks) / n,
        "hit@5": sum(r is not None and r <= 5 for r in ranks) / n,
        "hit@10": sum(r is not None and r <= 10 for r in ranks) / n,
        "mrr": sum(1 / r for r in ranks if r) / n,
    }


def choose_simplest(fold_scores: dict[Any, list[float]], *, complexity: Callable[[Any], int]) -> tuple[Any, Any]:
    """The default to keep under cross-validation, and the setting with the best mean held-out score.

    ``fold_scores`` maps each setting to its held-out score on every fold. The best mean wins unless a simpler
    setting (lower ``complexity``) is not beaten by it in most folds; then the simplest such setting is kept.
    """
    best = max(fold_scores, key=lambda setting: (sum(fold_scores[setting]), -complexity(setting)))
    folds = len(fold_scores[best])

    def beaten_in_most_folds(setting: Any) -> bool:
        wins = sum(b > s for b, s in zip(fold_scores[best], fold_scores[setting], strict=True))
        return wins > folds / 2

    contenders = [s for s in fold_scores if complexity(s) < complexity(best) and not beaten_in_most_folds(s)]
    if not contenders:
        return best, best
    simplest = min(contenders, key=lambda setting: (complexity(setting), -sum(fold_scores[setting])))
    return simplest, best
