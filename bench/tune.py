"""Tune hybrid retrieval honestly: BM25's k1 and b and the fusion, chosen by cross-validation by article.

The articles are split into folds (six folds of four for SQuAD half A); questions about one article never sit on
both sides. Every setting is scored on every fold's questions, each fold scored by a search that ranks exactly
as chat does (one candidate query per question and BM25 setting; every fusion ranks that pool). Two tables:

1. Nested cross-validation: for each fold, the setting with the best MRR on the other folds, scored on the fold
   it never saw, beside fixed references (equal-weight RRF, dense only, BM25 only). This is the estimate of what
   tuning buys on articles it was not tuned on.
2. The settings by mean held-out MRR over the folds, with the spread. The default is the best mean unless a
   simpler setting is not beaten by it in most folds (then the simplest such one); see choose_simplest.

    .venv/bin/python bench/tune.py [--squad FILE] [--folds 6] [--limit 2400] [--seed 11]
"""

import argparse
import statistics
import time
from pathlib import Path

from _setup import SQUAD, mean_sd, setup, table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--squad", type=Path, default=SQUAD, help="a SQuAD-format JSON file")
    parser.add_argument("--folds", type=int, default=6)
    parser.add_argument("--limit", type=int, default=2400, help="questions sampled (0: all)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    setup()
    from tqdm import tqdm

    from chat.evaluation import (
        article_folds,
        choose_simplest,
        first_gold_rank,
        ingest_articles,
        load_questions,
        rank_measures,
        sample,
    )
    from chatbot_site.isolated_db import isolated_database
    from knowledge.embedders import shared_text_embedder
    from knowledge.ranking import Bm25, Fusion, FusionMethod, Normalization, rank_candidates, rank_one_side
    from knowledge.selectors import chunk_candidates

    articles, questions = load_questions(args.squad)
    questions = sample(questions, limit=args.limit or None, seed=args.seed)
    folds = article_folds([article.title for article in articles], folds=args.folds, seed=args.seed)
    fold_of = {title: index for index, fold in enumerate(folds) for title in fold}
    embedder = shared_text_embedder()
    vectors = [embedder.run(text=q.question)["embedding"] for q in tqdm(questions, desc="embed questions")]

    bm25_settings = [Bm25(k1=k1, b=b) for k1 in (0.3, 0.6, 0.9, 1.2) for b in (0.3, 0.5, 0.75)]
    fusions = [
        Fusion(method=FusionMethod.RRF, dense_weight=weight, rrf_k=k)
        for weight in (1.0, 1.5, 2.0, 3.0)
        for k in (20, 60)
    ] + [
        Fusion(method=FusionMethod.CONVEX, dense_share=share, normalization=normalization)
        for share in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
        for normalization in Normalization
    ]
    # The textbook references, fixed here: the defaults in knowledge.ranking are what this command chose.
    plain_bm25, equal_rrf = Bm25(k1=1.2, b=0.75), Fusion(method=FusionMethod.RRF)

    ranks: dict[object, list[int | None]] = {}
    started = time.perf_counter()
    with isolated_database(suffix="bench_tune"):
        ingest_articles(articles, progress=lambda items: tqdm(items, desc="ingest"))
        for bm25 in bm25_settings:
            pools = [
                chunk_candidates(query=q.question, embedding=v, candidates=40, bm25=bm25)
                for q, v in tqdm(list(zip(questions, vectors, strict=True)), desc=f"k1 {bm25.k1} b {bm25.b}")
            ]
            for fusion in fusions:
                ranks[(bm25, fusion)] = [
                    first_gold_rank(rank_candidates(pool, fusion=fusion, top_k=10), question=q)
                    for q, pool in zip(questions, pools, strict=True)
                ]
            ranks[("BM25 only", bm25)] = [
                first_gold_rank(rank_one_side(pool, side="sparse_rank", top_k=10), question=q)
                for q, pool in zip(questions, pools, strict=True)
            ]
            if bm25 == plain_bm25:
                ranks["dense only"] = [
                    first_gold_rank(rank_one_side(pool, side="dense_rank", top_k=10), question=q)
                    for q, pool in zip(questions, pools, strict=True)
                ]
    elapsed = time.perf_counter() - started

    def on_folds(setting: object, chosen: list[int]) -> dict[str, float]:
        return rank_measures(
            [r for q, r in zip(questions, ranks[setting], strict=True) if fold_of[q.document] in chosen]
        )

    def per_fold(setting: object, measure: str) -> list[float]:
        return [on_folds(setting, [index])[measure] for index in range(len(folds))]

    tunable = [setting for setting in ranks if isinstance(setting, tuple) and isinstance(setting[0], Bm25)]

    def label(setting: object) -> str:
        if setting == "dense only":
            return "dense only"
        first, second = setting
        if first == "BM25 only":
            return f"BM25 only (k1 {second.k1}, b {second.b})"
        return f"{second.label()}; k1 {first.k1} b {first.b}"

    # 1. Nested cross-validation.
    references = {"equal RRF k 60": (plain_bm25, equal_rrf), "dense only": "dense only",
                  "BM25 only": ("BM25 only", plain_bm25)}  # fmt: skip
    rows, chosen_scores = [], {name: [] for name in ["tuned", *references]}
    for index, fold in enumerate(folds):
        others = [i for i in range(len(folds)) if i != index]
        best = max(tunable, key=lambda setting: on_folds(setting, others)["mrr"])
        held_out = on_folds(best, [index])
        chosen_scores["tuned"].append(held_out)
        row = [index + 1, len(fold), label(best)]
        row += [f"{held_out[m]:.3f}" for m in ("hit@1", "hit@5", "mrr")]
        for name, setting in references.items():
            measures = on_folds(setting, [index])
            chosen_scores[name].append(measures)
            row.append(f"{measures['mrr']:.3f}")
        rows.append(row)

    rows.append(
        ["mean", "", ""]
        + [mean_sd([s[m] for s in chosen_scores["tuned"]]) for m in ("hit@1", "hit@5", "mrr")]
        + [mean_sd([s["mrr"] for s in chosen_scores[name]]) for name in references]
    )
    print(f"\n{len(questions)} questions, {len(articles)} articles in {len(folds)} folds (seed {args.seed}); "
          f"{len(tunable)} settings; {elapsed:.0f} s")  # fmt: skip
    print("\n1. Nested cross-validation: chosen on the other folds, scored on the fold")
    headers = ["fold", "articles", "chosen on the other folds", "hit@1", "hit@5", "MRR"]
    print(table(headers + [f"MRR {name}" for name in references], rows))

    # 2. Every setting by its mean held-out score; the default.
    fold_mrr = {setting: per_fold(setting, "mrr") for setting in tunable}

    def complexity(setting: tuple) -> int:
        bm25, fusion = setting
        changed = (bm25.k1 != plain_bm25.k1) + (bm25.b != plain_bm25.b)
        if fusion.method == FusionMethod.RRF:
            return changed + (fusion.dense_weight != 1) + (fusion.sparse_weight != 1) + (fusion.rrf_k != 60)
        return changed + 1 + (fusion.dense_share != 0.5) + (fusion.normalization != Normalization.MINMAX)

    default, best = choose_simplest(fold_mrr, complexity=complexity)
    ordered = sorted(tunable, key=lambda s: -statistics.mean(fold_mrr[s]))
    best_rrf = next(s for s in ordered if s[1].method == FusionMethod.RRF)
    shown = ordered[:12] + [s for s in (default, best_rrf, (plain_bm25, equal_rrf)) if s not in ordered[:12]]
    baselines = ["dense only", ("BM25 only", plain_bm25)]
    rows = []
    for setting in shown + baselines:
        wins = sum(b > s for b, s in zip(per_fold(best, "mrr"), per_fold(setting, "mrr"), strict=True))
        rows.append(
            [label(setting) + (" <- default" if setting == default else " <- best RRF" if setting == best_rrf else "")]
            + [mean_sd(per_fold(setting, m)) for m in ("hit@1", "hit@5", "mrr")]
            + [f"{wins}/{len(folds)}"]
        )
    print("\n2. Mean held-out score over the folds (± standard deviation across folds)")
    print(table(["setting", "hit@1", "hit@5", "MRR", "best wins in"], rows))
    print(f"\nbest mean: {label(best)}\ndefault:   {label(default)}")


if __name__ == "__main__":
    main()
