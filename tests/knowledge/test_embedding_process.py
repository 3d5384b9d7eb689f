"""The offline model in a child process: the same vectors as in-process, restarted when killed, gone with us."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from knowledge.embedders import LocalRuntime
from knowledge.embedding_process import EmbeddingProcess, EmbeddingProcessFailed

TEXTS = ["How do I add a document?", "Golden Gate Bridge", "Wie funktioniert das Streaming?", "x"]


def _runtime(name: str | None = None) -> LocalRuntime:
    runtime = LocalRuntime.from_settings()
    return LocalRuntime(name=name or runtime.name, cache_dir=runtime.cache_dir, threads=1)


@pytest.fixture(scope="module")
def process():
    embedder = EmbeddingProcess(batch_size=8, runtime=_runtime())
    embedder.start()
    yield embedder
    embedder.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"


def _wait_gone(pid: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("runtime", LocalRuntime.NAMES)
def test_vectors_match_the_in_process_model_in_order(runtime):
    in_process = _runtime(runtime).document_embedder(batch_size=8)
    in_process.warm_up()
    from haystack import Document

    expected = [d.embedding for d in in_process.run(documents=[Document(content=t) for t in TEXTS])["documents"]]
    process = EmbeddingProcess(batch_size=8, runtime=_runtime(runtime))
    try:
        vectors = process.embed_many(TEXTS)
        _check_vectors(process, vectors, expected)
    finally:
        process.close()


def _check_vectors(process, vectors, expected):
    assert len(vectors) == len(TEXTS)
    for got, want in zip(vectors, expected, strict=True):
        assert got.dtype == np.float32 and got.shape == (384,)
        np.testing.assert_allclose(got, np.asarray(want, dtype=np.float32), atol=1e-5)
    # Different texts, different vectors: the rows are not a copy of one.
    assert float(vectors[0] @ vectors[1]) < 0.9
    # It yields the cores to the server's event loop when both are busy.
    assert os.getpriority(os.PRIO_PROCESS, process._child.pid) == min(os.getpriority(os.PRIO_PROCESS, 0) + 10, 19)


def test_a_killed_child_is_replaced_and_the_texts_still_embedded(process):
    first = process._child.pid
    os.kill(first, signal.SIGKILL)
    assert _wait_gone(first)
    vectors = process.embed_many(["after the restart"])
    assert len(vectors) == 1 and np.isclose(np.linalg.norm(vectors[0]), 1.0, atol=1e-3)
    assert process._child.pid != first


def test_ctrl_c_on_the_process_group_leaves_the_child_to_its_server(process):
    """The server stops gracefully on Ctrl-C and may still embed meanwhile; the child waits for it to go."""
    pid = process._child.pid
    os.kill(pid, signal.SIGINT)
    assert len(process.embed_many(["still serving"])) == 1
    assert process._child.pid == pid


def test_texts_the_model_cannot_embed_fail_clearly_and_the_child_keeps_serving(process):
    pid = process._child.pid
    with pytest.raises(EmbeddingProcessFailed, match="Embedding failed"):
        process.embed_many([["not", "a", "text"]])  # type: ignore[list-item]
    assert process._child.pid == pid
    assert len(process.embed_many(["still here"])) == 1


def test_a_child_that_stops_answering_is_killed_and_replaced():
    embedder = EmbeddingProcess(batch_size=8, runtime=_runtime(), reply_seconds=2)
    try:
        embedder.start()
        hung = embedder._child.pid
        os.kill(hung, signal.SIGSTOP)  # alive, but answers nothing
        started = time.monotonic()
        assert len(embedder.embed_many(["are you there?"])) == 1
        assert time.monotonic() - started < 60
        assert _wait_gone(hung) and embedder._child.pid != hung
    finally:
        embedder.close()


def test_a_model_that_cannot_load_fails_the_start():
    broken = EmbeddingProcess(batch_size=8, runtime=_runtime("no-such-runtime"))
    with pytest.raises(EmbeddingProcessFailed, match="could not load the model.*no-such-runtime"):
        broken.start()
    assert broken._child is None


@pytest.mark.parametrize("how", ["exits", "is killed"])
def test_the_child_goes_when_its_server_goes(how):
    """A server that exits, or crashes, leaves no embedding process behind."""
    parent = textwrap.dedent(
        f"""
        import os, signal, sys
        from knowledge.embedders import LocalRuntime
        from knowledge.embedding_process import EmbeddingProcess
        process = EmbeddingProcess(batch_size=8, runtime=LocalRuntime(**{_runtime().__dict__!r}))
        process.embed_many(["hello"])
        print(process._child.pid, flush=True)
        if {how == "is killed"!r}:
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", parent], cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    child = int(done.stdout.split()[0])
    assert _wait_gone(child), f"embedding process {child} outlived its server"


def test_a_server_that_exits_while_the_model_loads_leaves_no_traceback():
    """A command that starts the embedding process and ends at once: the child goes quietly."""
    parent = textwrap.dedent(
        f"""
        from knowledge.embedders import LocalRuntime
        from knowledge.embedding_process import EmbeddingProcess
        process = EmbeddingProcess(batch_size=8, runtime=LocalRuntime(**{_runtime().__dict__!r}))
        process.start(wait=False)
        print(process._child.pid, flush=True)
        """
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    # The child shares the parent's stderr: the output ends only when the child has gone too.
    done = subprocess.run(
        [sys.executable, "-c", parent], cwd=root, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert _wait_gone(int(done.stdout.split()[0]))
    assert "Traceback" not in done.stderr, done.stderr
