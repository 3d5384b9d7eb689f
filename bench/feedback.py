"""What recording questions costs a reader, and how fast unanswered questions are grouped.

1. Two servers as `make run` starts them serve the demo guide from one database: one records (the default,
   CHAT_RECORD_QUESTIONS=1), one does not (CHAT_RECORD_QUESTIONS=0, the baseline). One client asks each server
   the same questions, half of them outside the book, alternating between the two so that both see the same
   machine; p50 and p95 of answering, and the ratio.
2. Grouping: the unanswered questions of step 1 plus rephrasings of them, as ungrouped gaps, grouped by meaning
   in one call (what a regrouping does) and one at a time (what each recorded answer does).

    .venv/bin/python bench/feedback.py [--questions 1000] [--gaps 1000]
"""

import argparse
import time

from _http import Client, percentile
from _setup import GUIDE_QUESTIONS, UNTHROTTLED, guide_database, setup, table

OPEN = UNTHROTTLED
ANSWERABLE = [*GUIDE_QUESTIONS, "How do I embed the chat widget?", "What is the default embedding model?"]
OUTSIDE_TEMPLATES = [
    "What is the boiling point of {}?",
    "Who discovered {}?",
    "How much does {} cost in Europe?",
    "What is the history of {}?",
    "Where can I buy {} near me?",
    "Is {} dangerous for children?",
    "How do I cook {} at home?",
    "What colour is {} usually?",
    "Which country produces the most {}?",
    "How is {} pronounced in French?",
]
OUTSIDE_TOPICS = [
    "mercury",
    "saffron",
    "basalt",
    "penicillin",
    "the violin",
    "sourdough bread",
    "tungsten",
    "the platypus",
    "jade",
    "espresso",
    "the tuba",
    "granite",
    "vanilla",
    "cobalt",
    "the harpsichord",
    "kimchi",
    "obsidian",
    "the axolotl",
    "quinoa",
    "the bagpipes",
    "cinnamon",
    "marble",
    "the narwhal",
    "turmeric",
    "the sitar",
    "amber",
    "the okapi",
    "paprika",
    "slate",
    "the oboe",
    "lentils",
    "the pangolin",
    "nutmeg",
    "the banjo",
    "quartz",
    "tofu",
    "the koala",
    "cardamom",
    "limestone",
    "the cello",
    "wasabi",
    "the lynx",
    "garnet",
    "the accordion",
    "barley",
    "the walrus",
    "cumin",
    "sandstone",
    "the zither",
    "millet",
]
REPHRASINGS = ["{}", "Could you tell me: {}", "{} Please explain.", "Quick question. {}"]


def questions(count: int) -> list[str]:
    """Half from the guide (repeated with a turn number, so no two are the same text), half from outside it."""
    outside = [template.format(topic) for topic in OUTSIDE_TOPICS for template in OUTSIDE_TEMPLATES]
    asked = []
    for n in range(count):
        if n % 2:
            asked.append(outside[(n // 2) % len(outside)])
        else:
            asked.append(f"{ANSWERABLE[(n // 2) % len(ANSWERABLE)]} ({n})")
    return asked


def answering_phase(recording, baseline, asked: list[str]) -> dict:
    clients = {"recording": Client(recording.url), "baseline": Client(baseline.url)}
    sessions = {
        name: client.request("POST", "/api/chat/sessions/")[1]["session_id"] for name, client in clients.items()
    }
    latencies = {name: [] for name in clients}
    statuses = {name: {} for name in clients}
    errors = 0
    for n, question in enumerate(asked):
        # Alternate which server goes first, so neither always follows the other.
        order = ["recording", "baseline"] if n % 2 else ["baseline", "recording"]
        for name in order:
            if n % 20 == 0:  # a fresh session now and then: each keeps its last 40 turns anyway
                sessions[name] = clients[name].request("POST", "/api/chat/sessions/")[1]["session_id"]
            status, body, _, seconds = clients[name].request(
                "POST", f"/api/chat/sessions/{sessions[name]}/messages/", {"message": question}
            )
            if status != 200:
                errors += 1
                continue
            latencies[name].append(seconds * 1000)
            statuses[name][body["status"]] = statuses[name].get(body["status"], 0) + 1
    return {"latencies": latencies, "statuses": statuses, "errors": errors}


def grouping_phase(gap_count: int, unanswered: list[str]) -> dict:
    from chat.engine import get_chat_engine  # noqa: PLC0415
    from chat.feedback_services import gap_groups_assign  # noqa: PLC0415
    from chat.models import Gap, GapGroup  # noqa: PLC0415

    texts = [
        REPHRASINGS[(n // len(unanswered)) % len(REPHRASINGS)].format(unanswered[n % len(unanswered)])
        for n in range(gap_count)
    ]
    batcher = get_chat_engine().pipelines.retrieval.get_component("embedder").batcher
    started = time.perf_counter()
    vectors = [batcher.embed(text) for text in texts]
    embed_seconds = time.perf_counter() - started

    def fresh_gaps() -> list:
        Gap.objects.all().delete()
        GapGroup.objects.all().delete()
        return Gap.objects.bulk_create(
            [Gap(reason="no_answer", question=t, query=t, embedding=v) for t, v in zip(texts, vectors, strict=True)]
        )

    fresh_gaps()
    started = time.perf_counter()
    gap_groups_assign()
    batch_seconds = time.perf_counter() - started
    batch_groups = GapGroup.objects.count()

    gaps = fresh_gaps()
    started = time.perf_counter()
    for gap in gaps:
        gap_groups_assign(gaps=[gap])
    single_seconds = time.perf_counter() - started
    return {
        "gaps": gap_count,
        "distinct": len(set(unanswered)),
        "embed_s": embed_seconds,
        "batch_s": batch_seconds,
        "batch_groups": batch_groups,
        "single_s": single_seconds,
        "single_groups": GapGroup.objects.count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--gaps", type=int, default=1000)
    args = parser.parse_args()
    setup()
    from tests.servers import AppServer  # noqa: PLC0415

    asked = questions(args.questions)
    with guide_database(suffix="bench_feedback") as database:
        from chat.models import Gap  # noqa: PLC0415

        recording = AppServer(database=database, env={**OPEN, "CHAT_RECORD_QUESTIONS": "1"})
        baseline = AppServer(database=database, env={**OPEN, "CHAT_RECORD_QUESTIONS": "0"})
        with recording.running(), baseline.running():
            for server in (recording, baseline):  # warm both up alike
                client = Client(server.url)
                session = client.request("POST", "/api/chat/sessions/")[1]["session_id"]
                for question in ANSWERABLE:
                    client.request("POST", f"/api/chat/sessions/{session}/messages/", {"message": question})
            answered = answering_phase(recording, baseline, asked)
        recorded = Gap.objects.count()
        unanswered = list(Gap.objects.order_by("id").values_list("question", flat=True))
        grouping = grouping_phase(args.gaps, unanswered or [q for n, q in enumerate(asked) if n % 2])

    rows = []
    for name in ("baseline", "recording"):
        values = answered["latencies"][name]
        statuses = answered["statuses"][name]
        rows.append(
            [
                f"{name} (CHAT_RECORD_QUESTIONS={'1' if name == 'recording' else '0'})",
                len(values),
                f"{percentile(values, 50):.1f}",
                f"{percentile(values, 95):.1f}",
                ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())),
            ]
        )
    ratio50 = percentile(answered["latencies"]["recording"], 50) / percentile(answered["latencies"]["baseline"], 50)
    ratio95 = percentile(answered["latencies"]["recording"], 95) / percentile(answered["latencies"]["baseline"], 95)
    print(f"Answering {len(asked)} questions (half outside the book), one client, alternating servers")
    print(table(["server", "answers", "p50 ms", "p95 ms", "statuses"], rows))
    print(
        f"recording / baseline: p50 {ratio50:.3f}x, p95 {ratio95:.3f}x; errors {answered['errors']}; "
        f"gaps recorded {recorded}"
    )
    print()
    print(f"Grouping {grouping['gaps']} unanswered questions ({grouping['distinct']} distinct, each also rephrased)")
    print(
        table(
            ["how", "seconds", "groups"],
            [
                ["all at once (gap_groups_assign())", f"{grouping['batch_s']:.2f}", grouping["batch_groups"]],
                ["one at a time, as answers record", f"{grouping['single_s']:.2f}", grouping["single_groups"]],
                ["(embedding them, not part of grouping)", f"{grouping['embed_s']:.2f}", "-"],
            ],
        )
    )


if __name__ == "__main__":
    main()
