"""The cross-validation protocol bench/tune.py follows (pure functions)."""

from chat.evaluation import Question, article_folds, choose_simplest, contains_gold, first_gold_rank, rank_measures
from knowledge.ranking import ChunkHit


def test_folds_split_articles_evenly_and_reproducibly():
    titles = [f"Article {i}" for i in range(24)] * 3  # one title per question: repeats
    folds = article_folds(titles, folds=6, seed=11)
    assert [len(fold) for fold in folds] == [4] * 6
    assert sorted(title for fold in folds for title in fold) == sorted(set(titles))
    assert folds == article_folds(titles, folds=6, seed=11)
    assert folds != article_folds(titles, folds=6, seed=12)


def test_the_best_mean_wins_when_it_wins_most_folds():
    scores = {"simple": [0.70, 0.70, 0.70, 0.70], "tuned": [0.72, 0.71, 0.69, 0.73]}
    assert choose_simplest(scores, complexity=lambda s: s == "tuned") == ("tuned", "tuned")


def test_a_simpler_setting_is_kept_unless_beaten_in_most_folds():
    # The tuned setting has the better mean, from one lucky fold; it wins only two of four.
    scores = {"simple": [0.70, 0.70, 0.70, 0.70], "tuned": [0.90, 0.71, 0.69, 0.68]}
    assert choose_simplest(scores, complexity=lambda s: s == "tuned") == ("simple", "tuned")


def hit(title: str, text: str) -> ChunkHit:
    return ChunkHit(1, 1, title, "", "", "", text, 0.0, 0.5, 1.0, 1, 1)


def test_the_first_gold_rank_needs_the_right_article_and_an_answer():
    question = Question("Where?", ("Vladivostok",), "Rail")
    hits = [hit("Rail", "Moscow"), hit("Cities", "Vladivostok is far"), hit("Rail", "It ends in Vladivostok.")]
    assert first_gold_rank(hits, question=question) == 3
    assert first_gold_rank(hits, question=question, limit=2) is None
    assert rank_measures([1, 3, None, 10]) == {
        "hit@1": 0.25,
        "hit@5": 0.5,
        "hit@10": 0.75,
        "mrr": (1 + 1 / 3 + 0.1) / 4,
    }


def test_a_gold_answer_that_ends_a_quote_is_found():
    # The offline answerer quotes in curly quotes: the gold must not be read as "andrews”".
    assert contains_gold("“The current Premier of Victoria is Daniel Andrews.” [1]", ["Daniel Andrews"])
    assert contains_gold("“Daniel Andrews” – the Premier", ["Daniel Andrews"])
    assert not contains_gold("“The Premier is Daniel.” [1]", ["Daniel Andrews"])
