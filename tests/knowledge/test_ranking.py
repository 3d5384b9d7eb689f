"""Fusion and the page boost over a candidate pool (pure functions: no database)."""

import pytest

from knowledge.ranking import (
    ChunkHit,
    Fusion,
    FusionMethod,
    Normalization,
    PageBoost,
    PageMatch,
    fused_scores,
    rank_candidates,
    rank_one_side,
)


def hit(chunk_id: int, *, similarity: float, bm25: float, dense: int | None, sparse: int | None, document: int = 1,
        anchor: str = "") -> ChunkHit:  # fmt: skip
    return ChunkHit(
        chunk_id=chunk_id,
        document_id=document,
        document_title=f"Doc {document}",
        reference="",
        section="",
        anchor=anchor,
        text=f"passage number {chunk_id} says something different",
        score=0.0,
        similarity=similarity,
        lexical=bm25,
        dense_rank=dense,
        sparse_rank=sparse,
    )


POOL = [
    hit(1, similarity=0.80, bm25=0.0, dense=1, sparse=None),
    hit(2, similarity=0.60, bm25=9.0, dense=2, sparse=1),
    hit(3, similarity=0.20, bm25=3.0, dense=None, sparse=2),
]


def test_rrf_adds_weighted_reciprocal_ranks():
    scores = fused_scores(POOL, fusion=Fusion(method=FusionMethod.RRF, dense_weight=2.0, sparse_weight=1.0, rrf_k=10))
    assert scores == pytest.approx([2 / 11, 2 / 12 + 1 / 11, 1 / 12])


def test_convex_blend_of_minmax_scores():
    scores = fused_scores(POOL, fusion=Fusion(method=FusionMethod.CONVEX, dense_share=0.75))
    # dense (0.8, 0.6, 0.2) -> (1, 2/3, 0); BM25 (0, 9, 3) -> (0, 1, 1/3)
    assert scores == pytest.approx([0.75, 0.75 * 2 / 3 + 0.25, 0.25 / 3])


def test_convex_blend_of_theoretically_normalised_scores():
    fusion = Fusion(method=FusionMethod.CONVEX, dense_share=0.5, normalization=Normalization.THEORETICAL)
    scores = fused_scores(POOL, fusion=fusion)
    # dense from -1 to the pool's best 0.8; BM25 from 0 to the pool's best 9
    assert scores == pytest.approx([0.5, 0.5 * 1.6 / 1.8 + 0.5, 0.5 * 1.2 / 1.8 + 0.5 / 3])


def test_a_side_with_nothing_to_tell_apart_adds_nothing():
    flat = [hit(i, similarity=0.5 + i / 10, bm25=0.0, dense=i, sparse=None) for i in (1, 2)]
    assert fused_scores(flat, fusion=Fusion(dense_share=0.5)) == pytest.approx([0.0, 0.5])


def test_ranking_sorts_by_fused_score_and_keeps_it_as_the_base():
    ranked = rank_candidates(POOL, fusion=Fusion(method=FusionMethod.CONVEX, dense_share=0.5), top_k=2)
    assert [h.chunk_id for h in ranked] == [2, 1]
    assert all(h.score == h.base_score for h in ranked)


def test_the_page_boost_wins_near_ties_only():
    pool = [
        hit(1, similarity=0.80, bm25=5.0, dense=1, sparse=1, document=1),
        hit(2, similarity=0.79, bm25=4.9, dense=2, sparse=2, document=2, anchor="intro"),
        hit(3, similarity=0.40, bm25=3.0, dense=3, sparse=3, document=2),
    ]
    boost = PageBoost(page=PageMatch(document_id=2, anchor="intro"), weight=0.5, section_factor=1.5, margin=0.05)
    fusion = Fusion(method=FusionMethod.CONVEX)
    ranked = rank_candidates(pool, fusion=fusion, top_k=3, boost=boost)
    assert [h.chunk_id for h in ranked] == [2, 1, 3]  # the near tie on the page (and its section) goes first
    assert ranked[0].score == pytest.approx(ranked[0].base_score * 1.75)
    assert ranked[2].score == ranked[2].base_score  # far behind the best: no boost
    assert [h.chunk_id for h in rank_candidates(pool, fusion=fusion, top_k=3)] == [1, 2, 3]


def test_the_page_boost_never_reorders_the_pages_own_passages():
    pool = [
        hit(1, similarity=0.80, bm25=5.0, dense=1, sparse=1, document=1),
        hit(2, similarity=0.79, bm25=1.0, dense=2, sparse=3, document=2),  # close in meaning, few of the words
        hit(3, similarity=0.70, bm25=4.9, dense=3, sparse=2, document=2),  # the page's better passage overall
    ]
    boost = PageBoost(page=PageMatch(document_id=2, anchor=""), weight=0.5, margin=0.05)
    fusion = Fusion(method=FusionMethod.CONVEX)
    assert [h.chunk_id for h in rank_candidates(pool, fusion=fusion, top_k=3)] == [1, 3, 2]
    # A near tie in similarity alone is not a near tie: passage 2 does not jump its own page's better passage.
    assert [h.chunk_id for h in rank_candidates(pool, fusion=fusion, top_k=3, boost=boost)] == [1, 3, 2]
    wide = PageBoost(page=PageMatch(document_id=2, anchor=""), weight=1.5, margin=0.6)
    assert [h.chunk_id for h in rank_candidates(pool, fusion=fusion, top_k=3, boost=wide)] == [3, 2, 1]


def test_an_empty_pool_ranks_to_nothing_with_or_without_a_page():
    boost = PageBoost(page=PageMatch(document_id=2, anchor=""), weight=0.5)
    for fusion in (Fusion(method=FusionMethod.CONVEX), Fusion(method=FusionMethod.RRF)):
        assert rank_candidates([], fusion=fusion, top_k=3) == []
        assert rank_candidates([], fusion=fusion, top_k=3, boost=boost) == []


def test_one_side_alone_ranks_by_its_own_rank_and_skips_the_other_sides_candidates():
    assert [h.chunk_id for h in rank_one_side(POOL, side="sparse_rank", top_k=5)] == [2, 3]
    assert [h.chunk_id for h in rank_one_side(POOL, side="dense_rank", top_k=1)] == [1]
