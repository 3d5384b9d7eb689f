"""Answers to questions that ask for a number ("How many…", "How long…", "In what year…") on SQuAD: the offline
answerer's number bonus against none, on the same retrieved passages. ``--kind abbreviation`` measures the
bonus for spelling an abbreviation out ("What does AFC stand for?", "What is AFC?") the same way, ``--kind
list`` the bonus for a lead-in with its list ("What are the…"), ``--kind definition`` the bonus for a piece that
starts with the term a question asks about ("What is the Amazon rainforest?").

SQuAD questions are sampled as bench/quality.py samples them; those the kind's question test picks
(chat.text.asks_for_number, abbreviation_asked, asks_for_list, terms_asked) are kept (400 by default), every article is
ingested, and each question's top 5 from the chat retrieval pipeline go to the answerer with each bonus.
"Contains gold": the answer holds one of the question's gold answers.

    TORCH_NUM_THREADS=2 .venv/bin/python bench/number_answers.py [--kind number] [--squad FILE] [--limit 400]
"""

import argparse
from pathlib import Path

from _setup import SQUAD, setup, table

BONUSES = (0.0, 0.03, 0.05, 0.1)
# Each kind of question: the chat.text test that picks it, and the answerer's bonus for what answers it.
KINDS = {
    "number": ("asks_for_number", "number_bonus"),
    "abbreviation": ("abbreviation_asked", "expansion_bonus"),
    "list": ("asks_for_list", "list_bonus"),
    "definition": ("terms_asked", "definition_bonus"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=SQUAD, help="a SQuAD-format JSON file")
    parser.add_argument("--limit", type=int, default=400, help="questions that ask for a number")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--kind", choices=sorted(KINDS), default="number", help="which questions, which bonus")
    args = parser.parse_args()
    setup()
    from tqdm import tqdm  # noqa: PLC0415

    from chat import text  # noqa: PLC0415
    from chat.engine import get_chat_engine  # noqa: PLC0415
    from chat.evaluation import contains_gold, ingest_articles, load_questions, sample  # noqa: PLC0415
    from chat.extractive import ExtractiveAnswerer  # noqa: PLC0415
    from chat.pipeline import stage_timings  # noqa: PLC0415
    from chatbot_site.isolated_db import isolated_database  # noqa: PLC0415
    from knowledge.embedders import shared_document_embedder  # noqa: PLC0415

    articles, questions = load_questions(args.squad)
    asks, parameter = KINDS[args.kind]
    picks = getattr(text, asks)
    asked = [q for q in sample(questions, limit=len(questions), seed=args.seed) if picks(q.question)]
    asked = asked[: args.limit]
    embedder = shared_document_embedder(batch_size=4)
    default = getattr(ExtractiveAnswerer(sentence_embedder=embedder), parameter)
    answerers = {bonus: ExtractiveAnswerer(sentence_embedder=embedder, **{parameter: bonus}) for bonus in BONUSES}
    found = dict.fromkeys(BONUSES, 0)
    with isolated_database(suffix="bench_numbers"):
        ingest_articles(articles, progress=lambda x: tqdm(x, desc="ingest"))
        retrieval = get_chat_engine().pipelines.retrieval
        for question in tqdm(asked, desc="questions"):
            with stage_timings():
                out = retrieval.run(
                    {"rewriter": {"message": question.question, "history": []}}, include_outputs_from={"embedder"}
                )
            documents = (out["retriever"].get("documents") or out["retriever"].get("no_answer") or [])[:5]
            for bonus, answerer in answerers.items():
                reply = answerer.run(
                    question=question.question, documents=documents, query_embedding=out["embedder"]["embedding"]
                )
                found[bonus] += contains_gold(reply["replies"][0].text or "", question.answers)
    none = found[0.0] or 1
    rows = [
        [f"{bonus:.2f}" + (" (default)" if bonus == default else ""), f"{n}/{len(asked)}", f"{n / none:.3f}x"]
        for bonus, n in found.items()
    ]
    print(f"\n{len(asked)} SQuAD questions of kind {args.kind} ({asks}), seed {args.seed}")
    print(table([parameter.replace("_", " "), "answer contains gold", "vs no bonus"], rows))


if __name__ == "__main__":
    main()
