"""CPU per text of the offline model on ONNX Runtime against torch, and the memory of a process that embeds.

Questions (SQuAD's, about 12 words) and passages (SQuAD contexts, about 120 words: what ingestion embeds) at
batch sizes 1, 4, 16 and 32, one intra-op thread (the server's setting), the two runtimes alternating over
several rounds so both see the same machine; the table gives each runtime's median CPU milliseconds per text
and the ratio. Then the resident memory of a fresh process that loads the model and embeds one text with each
runtime (what the server's embedding process holds), and the largest difference between the two runtimes'
vectors.

    .venv/bin/python bench/embedding.py [--rounds 3] [--texts 64]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from _setup import ROOT, SQUAD, setup, table

_RSS_SCRIPT = """
import sys
from knowledge.embedders import LocalRuntime
runtime = LocalRuntime(name=sys.argv[1], cache_dir=sys.argv[2], threads=1)
runtime.prepare()
runtime.vectors(batch_size=32)(["warm-up"])
for line in open("/proc/self/status"):
    if line.startswith("VmRSS"):
        print(int(line.split()[1]) // 1024)
"""


def cpu_ms_per_text(embed, texts: list[str], batch: int) -> float:
    embed(texts[:batch])  # buffers for this shape
    started = time.process_time()
    for start in range(0, len(texts), batch):
        embed(texts[start : start + batch])
    return (time.process_time() - started) * 1000 / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--texts", type=int, default=64)
    args = parser.parse_args()
    setup()
    from knowledge.embedders import LocalRuntime

    squad = json.loads(SQUAD.read_text())["data"]
    paragraphs = [p for article in squad for p in article["paragraphs"]]
    questions = [qa["question"] for p in paragraphs for qa in p["qas"]][: args.texts]
    passages = [p["context"] for p in paragraphs][: args.texts]
    base = LocalRuntime.from_settings()
    runtimes = {name: LocalRuntime(name=name, cache_dir=base.cache_dir, threads=1) for name in ("torch", "onnx")}
    for runtime in runtimes.values():
        runtime.prepare()
    embedders = {name: runtime.vectors(batch_size=32) for name, runtime in runtimes.items()}

    samples: dict[tuple[str, int, str], list[float]] = {}
    for _ in range(args.rounds):
        for kind, texts in (("question", questions), ("passage", passages)):
            for batch in (1, 4, 16, 32):
                for name, embed in embedders.items():
                    samples.setdefault((kind, batch, name), []).append(cpu_ms_per_text(embed, texts, batch))
    rows = []
    for kind in ("question", "passage"):
        for batch in (1, 4, 16, 32):
            torch_ms = statistics.median(samples[(kind, batch, "torch")])
            onnx_ms = statistics.median(samples[(kind, batch, "onnx")])
            rows.append([kind, batch, f"{torch_ms:.2f}", f"{onnx_ms:.2f}", f"{onnx_ms / torch_ms:.2f}x"])
    print(f"\nCPU ms per text, one thread, median of {args.rounds} alternating rounds of {args.texts} texts")
    print(table(["texts", "batch", "torch", "onnx", "onnx / torch"], rows))

    difference = max(
        float(np.abs(embedders["onnx"](texts) - embedders["torch"](texts)).max()) for texts in (questions, passages)
    )
    memory = []
    for name, runtime in runtimes.items():
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        command = [sys.executable, "-c", _RSS_SCRIPT, name, runtime.cache_dir]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=300)
        memory.append([name, done.stdout.split()[-1]])
    print("\nResident memory of a process that loads the model and embeds (MB)")
    print(table(["runtime", "RSS MB"], memory))
    print(f"\nLargest difference between the runtimes' vector components: {difference:.1e}")


if __name__ == "__main__":
    main()
