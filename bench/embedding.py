"""CPU per text of the offline model on ONNX Runtime (float and int8) against torch, and the memory of a process
that embeds.

Questions (SQuAD's, about 12 words) and passages (SQuAD contexts, about 120 words: what ingestion embeds) at
batch sizes 1, 4, 16 and 32, one intra-op thread (the server's setting), the runtimes alternating over several
rounds so all see the same machine; the table gives each runtime's median CPU milliseconds per text and the
ratios (the int8 runtime runs each text alone whatever the batch, see knowledge.onnx_model). Then the resident
memory of a fresh process that loads the model and embeds one text with each runtime (what the server's
embedding process holds), the largest difference between the float runtimes' vectors, and how close the int8
vectors are to the float ones.

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
    names = ("torch", "onnx", "onnx-int8")
    runtimes = {name: LocalRuntime(name=name, cache_dir=base.cache_dir, threads=1) for name in names}
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
            torch_ms, onnx_ms, int8_ms = (statistics.median(samples[(kind, batch, name)]) for name in names)
            rows.append(
                [kind, batch, f"{torch_ms:.2f}", f"{onnx_ms:.2f}", f"{int8_ms:.2f}"]
                + [f"{onnx_ms / torch_ms:.2f}x", f"{int8_ms / onnx_ms:.2f}x"]
            )
    print(f"\nCPU ms per text, one thread, median of {args.rounds} alternating rounds of {args.texts} texts")
    print(table(["texts", "batch", "torch", "onnx", "onnx-int8", "onnx / torch", "int8 / onnx"], rows))

    vectors = {name: [embed(texts) for texts in (questions, passages)] for name, embed in embedders.items()}
    difference = max(float(np.abs(a - b).max()) for a, b in zip(vectors["onnx"], vectors["torch"], strict=True))
    pairs = zip(vectors["onnx-int8"], vectors["onnx"], strict=True)
    cosines = np.concatenate([np.sum(a * b, axis=1) for a, b in pairs])
    memory = []
    for name, runtime in runtimes.items():
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        command = [sys.executable, "-c", _RSS_SCRIPT, name, runtime.cache_dir]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=300)
        memory.append([name, done.stdout.split()[-1]])
    print("\nResident memory of a process that loads the model and embeds (MB)")
    print(table(["runtime", "RSS MB"], memory))
    print(f"\nLargest difference between the float runtimes' vector components: {difference:.1e}")
    print(f"Cosine between a text's int8 and float vectors: min {cosines.min():.4f}, mean {cosines.mean():.4f}")


if __name__ == "__main__":
    main()
