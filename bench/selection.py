"""What a selected passage costs: a question about a selection at the size limit against a plain question.

The demo guide in a throwaway database, the chat service in this process (recording off, so that only the
answer's own work counts). Each kind of request is warmed up, then asked `--repeat` times in alternation; CPU
time is the process's (all threads: the embedding runs on its own), wall time is the caller's.

    .venv/bin/python bench/selection.py [--repeat 30]
"""

import argparse
import os
import statistics
import time

from _setup import ROOT, guide_database, setup, table

QUESTIONS = ["How do I add a document?", "How are documents split?", "What happens when the language model is down?"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    os.environ["CHAT_RECORD_QUESTIONS"] = "0"
    setup()
    from django.conf import settings  # noqa: PLC0415

    limit = settings.CHAT_MAX_SELECTION_CHARS
    guide = "\n\n".join(path.read_text() for path in sorted((ROOT / "docs" / "guide").glob("*.md")))
    selection = guide[:limit]
    kinds = {
        "plain question (baseline)": {},
        f"question + {limit:,}-character selection": {"selected_text": selection},
        f"'What does this mean?' + {limit:,}-character selection": {"selected_text": selection, "what": True},
        "question + 300-character selection": {"selected_text": selection[:300]},
        # How it located a selection before: its first 2,000 characters (about 330 words) embedded and searched.
        f"before: question + {limit:,}-character selection": {"selected_text": selection, "locate_words": 330},
    }
    with guide_database(suffix="bench_selection"):
        from chat import retrieval  # noqa: PLC0415
        from chat.services import chat_reply, session_create  # noqa: PLC0415

        words = (retrieval.LOCATE_WORDS, retrieval.LOCATE_EMBED_WORDS)

        def ask(n: int, kind: dict) -> tuple[float, float]:
            message = "What does this mean?" if kind.get("what") else QUESTIONS[n % len(QUESTIONS)]
            retrieval.LOCATE_WORDS = retrieval.LOCATE_EMBED_WORDS = kind.get("locate_words", 0)
            if not kind.get("locate_words"):
                retrieval.LOCATE_WORDS, retrieval.LOCATE_EMBED_WORDS = words
            cpu, wall = time.process_time(), time.perf_counter()
            chat_reply(session_id=session_create(), message=message, selected_text=kind.get("selected_text"))
            return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000

        for n in range(3):  # warm-up: models, statement plans, stem caches
            for kind in kinds.values():
                ask(n, kind)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in kinds}
        for n in range(args.repeat):
            for name, kind in kinds.items():
                samples[name].append(ask(n, kind))

    base_cpu = statistics.median(cpu for cpu, _ in samples["plain question (baseline)"])
    rows = []
    for name, values in samples.items():
        cpu = statistics.median(v[0] for v in values)
        wall = statistics.median(v[1] for v in values)
        rows.append([name, f"{cpu:.1f}", f"{wall:.1f}", f"{cpu / base_cpu:.2f}x"])
    print(f"Median of {args.repeat} requests each (CHAT_MAX_SELECTION_CHARS={limit:,})")
    print(table(["request", "CPU ms", "wall ms", "CPU vs plain"], rows))


if __name__ == "__main__":
    main()
