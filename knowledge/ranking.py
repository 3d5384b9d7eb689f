"""Ranking a search's candidate pool: fusion of the dense and BM25 sides (reciprocal rank fusion or a convex
blend), the reader's page boost and near-duplicate removal.

Pure functions over the candidates a search fetched (``knowledge.selectors.chunk_candidates``), so the tuning
benchmark ranks exactly as chat does without querying again for every setting it tries.
"""

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

_WORDS = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class ChunkHit:
    """One retrieved chunk with its fused score and the evidence behind it."""

    chunk_id: int
    document_id: int
    document_title: str
    reference: str
    section: str
    anchor: str
    text: str
    score: float
    similarity: float | None  # cosine similarity to the question
    lexical: float | None  # BM25 score (0: none of the question's ranked words)
    dense_rank: int | None
    sparse_rank: int | None
    base_score: float = 0.0  # the score without the reader's page (equal to score without one)


@dataclass(frozen=True)
class PageMatch:
    """The document a reader's page shows, and the section its URL names (empty: none)."""

    document_id: int
    anchor: str


class FusionMethod(StrEnum):
    """How the dense and BM25 sides are combined."""

    RRF = "rrf"  # weighted reciprocal rank fusion: weight / (k + rank) per side
    CONVEX = "convex"  # dense_share * dense + (1 - dense_share) * BM25, each normalised over the pool


class Normalization(StrEnum):
    """How a convex blend puts cosine similarity and BM25 on one scale."""

    MINMAX = "minmax"  # (score - pool minimum) / (pool maximum - pool minimum)
    THEORETICAL = "theoretical"  # (score - lowest possible) / (pool maximum - lowest possible): -1 cosine, 0 BM25


@dataclass(frozen=True)
class Fusion:
    """A fusion setting (the defaults are the chat settings' defaults, chosen in bench/tune.py)."""

    method: FusionMethod = FusionMethod.CONVEX
    dense_weight: float = 1.0
    sparse_weight: float = 1.0
    rrf_k: float = 60.0
    dense_share: float = 0.5
    normalization: Normalization = Normalization.MINMAX

    def label(self) -> str:
        """A short description for benchmark tables."""
        if self.method == FusionMethod.RRF:
            return f"rrf dense {self.dense_weight:g} sparse {self.sparse_weight:g} k {self.rrf_k:g}"
        return f"convex dense {self.dense_share:g} {self.normalization}"


@dataclass(frozen=True)
class Bm25:
    """BM25's term-frequency saturation (k1) and length normalisation (b) for the full-text side."""

    k1: float = 0.3
    b: float = 0.75


@dataclass(frozen=True)
class PageBoost:
    """The reader's page and how much its near-tie passages gain (see ``chunk_search``)."""

    page: PageMatch
    weight: float
    section_factor: float = 1.5
    margin: float = 0.2


def _scaled(values: list[float], *, lowest: float | None) -> list[float]:
    top = max(values)
    bottom = min(values) if lowest is None else lowest
    if top <= bottom:
        return [0.0] * len(values)  # nothing to tell apart on this side
    return [(value - bottom) / (top - bottom) for value in values]


def fused_scores(hits: list[ChunkHit], *, fusion: Fusion) -> list[float]:
    """Each candidate's fused score, in the candidates' order."""
    if not hits:
        return []
    if fusion.method == FusionMethod.RRF:
        return [
            (fusion.dense_weight / (fusion.rrf_k + hit.dense_rank) if hit.dense_rank else 0.0)
            + (fusion.sparse_weight / (fusion.rrf_k + hit.sparse_rank) if hit.sparse_rank else 0.0)
            for hit in hits
        ]
    theoretical = fusion.normalization == Normalization.THEORETICAL
    dense = _scaled([hit.similarity or 0.0 for hit in hits], lowest=-1.0 if theoretical else None)
    # BM25 is never negative; a pool where no candidate matches a word scores 0 on that side.
    sparse = _scaled([hit.lexical or 0.0 for hit in hits], lowest=0.0 if theoretical else None)
    share = fusion.dense_share
    return [share * d + (1 - share) * s for d, s in zip(dense, sparse, strict=True)]


def rank_candidates(
    hits: list[ChunkHit], *, fusion: Fusion, top_k: int, boost: PageBoost | None = None
) -> list[ChunkHit]:
    """The best ``top_k`` candidates by fused score (the page's near ties boosted), near-duplicates kept once."""
    base = fused_scores(hits, fusion=fusion)
    scores = list(base)
    if boost is not None and boost.weight > 0:
        # A near tie (a fused score within the margin, a share of the best) goes to the page; a clearly better
        # passage elsewhere stays first. Gating on the fused score, not on one side's, keeps the page's own
        # passages in their order: every one it boosts was ahead of every one it does not.
        floor = max(base, default=0.0) * (1 - boost.margin)
        for index, hit in enumerate(hits):
            if hit.document_id == boost.page.document_id and base[index] >= floor:
                section = boost.page.anchor and hit.anchor == boost.page.anchor
                scores[index] *= 1 + boost.weight * (boost.section_factor if section else 1)
    order = sorted(range(len(hits)), key=lambda index: (-scores[index], hits[index].chunk_id))
    ranked = (replace(hits[index], score=scores[index], base_score=base[index]) for index in order)
    return deduplicate_hits(hits=ranked, limit=top_k)


def rank_one_side(hits: list[ChunkHit], *, side: str, top_k: int) -> list[ChunkHit]:
    """The best ``top_k`` candidates by one side's own rank (``side``: "dense_rank" or "sparse_rank"), without
    fusion: what dense-only or BM25-only retrieval over the same pool returns (the benchmarks' baselines)."""
    ranked = sorted((hit for hit in hits if getattr(hit, side) is not None), key=lambda hit: getattr(hit, side))
    return deduplicate_hits(hits=ranked, limit=top_k)


def words_of(text: str) -> list[str]:
    """The lower-cased words of a text, in order (what search and near-duplicate checks compare)."""
    return _WORDS.findall(text.lower())


# Punctuation around a token that is not part of it ("/readyz?", "(manage.py)", "`--prune`.").
_AROUND_TOKEN = "\"'`()[]{}<>,.;:!?"


def is_word(token: str) -> bool:
    """Whether a token is one word as words_of finds them (CHAT_TOP_K is; /readyz and manage.py are not)."""
    return bool(_WORDS.fullmatch(token))


def tokens_of(text: str) -> list[str]:
    """A text's tokens as written, split at white space, without the punctuation around them: /readyz,
    manage.py and --prune stay whole where words_of splits them."""
    return [token for raw in text.split() if (token := raw.strip(_AROUND_TOKEN))]


@functools.lru_cache(maxsize=2048)
def _shingles(text: str) -> frozenset[int]:
    # The same chunks come back for many questions; hashed 3-grams keep a cached entry to a few kilobytes.
    words = words_of(text)
    grams = zip(words, words[1:], words[2:], strict=False) if len(words) > 2 else [tuple(words)]
    return frozenset(map(hash, grams))


def deduplicate_hits(*, hits: Iterable[ChunkHit], threshold: float = 0.9, limit: int | None = None) -> list[ChunkHit]:
    """The first ``limit`` hits whose text is not near-identical (Jaccard of word 3-grams >= threshold) to a
    better one."""
    kept: list[tuple[ChunkHit, frozenset[int]]] = []
    for hit in hits:
        if limit is not None and len(kept) >= limit:
            break
        shingles = _shingles(hit.text)
        if any(len(shingles & other) / max(len(shingles | other), 1) >= threshold for _, other in kept):
            continue
        kept.append((hit, shingles))
    return [hit for hit, _ in kept]
