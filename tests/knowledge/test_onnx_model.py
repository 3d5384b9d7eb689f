"""The offline model on ONNX Runtime: torch's vectors, an export made once and checked, damaged files replaced;
the int8 graph made from it once, checked, close to it and under an id of its own."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.test import override_settings
from haystack import Document

from knowledge import onnx_model
from knowledge.embedders import LocalRuntime, _local_model_path, embedding_spec
from knowledge.onnx_model import OnnxExportError, graph_path, load_onnx_model, quantized_path

TEXTS = [
    "How do I add a document?",
    "   Leading and trailing spaces are stripped, as sentence-transformers does.   ",
    "Ünïcode, emoji 🙂, CJK 東京 and punctuation?!",
    "",
    "A very long passage about bridges. " * 120,  # past the model's 256 tokens
    "x",
]


def _runtime(name: str) -> LocalRuntime:
    return LocalRuntime(name=name, cache_dir=LocalRuntime.from_settings().cache_dir, threads=1)


def _documents() -> list[Document]:
    return [Document(content=text, meta={"context": "Guide > Section"}) for text in TEXTS] + [
        Document(content="no context"),
        Document(content="empty context", meta={"context": None}),
    ]


def _embed_documents(runtime: LocalRuntime, *, batch_size: int) -> np.ndarray:
    embedder = runtime.document_embedder(batch_size=batch_size)
    embedder.warm_up()
    return np.asarray([d.embedding for d in embedder.run(documents=_documents())["documents"]])


@pytest.mark.parametrize("batch_size", [1, 3, 32])
def test_document_vectors_match_torch(batch_size):
    """The same vectors as sentence-transformers on torch, whatever the batch (padding) and the meta fields."""
    onnx = _embed_documents(_runtime("onnx"), batch_size=batch_size)
    torch = _embed_documents(_runtime("torch"), batch_size=32)
    assert onnx.shape == torch.shape == (len(TEXTS) + 2, 384)
    np.testing.assert_allclose(onnx, torch, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)
    # Distinct texts, distinct vectors: not one row repeated.
    assert float(onnx[0] @ onnx[2]) < 0.9


def test_runs_hold_at_most_the_batch_size_and_the_token_budget():
    model = onnx_model.shared_onnx_model(
        model_dir=Path(_local_model_path()), cache_dir=Path(_runtime("onnx").cache_dir), threads=1
    )
    lengths = [600, 256, 200, 100, 60, 60, 60, 60, 60, 10, 10, 10]  # longest first, as encode() sorts them
    assert model._batches(lengths, batch_size=32) == [(0, 1), (1, 2), (2, 3), (3, 5), (5, 9), (9, 12)]
    assert model._batches(lengths, batch_size=2) == [(0, 1), (1, 2), (2, 3), (3, 5), (5, 7), (7, 9), (9, 11), (11, 12)]
    assert model._batches([], batch_size=32) == []
    int8 = onnx_model.shared_onnx_model(
        model_dir=Path(_local_model_path()), cache_dir=Path(_runtime("onnx").cache_dir), threads=1, int8=True
    )
    assert int8._batches([10, 10, 10], batch_size=32) == [(0, 1), (1, 2), (2, 3)]


def test_text_vectors_match_torch():
    onnx, torch = _runtime("onnx").text_embedder(), _runtime("torch").text_embedder()
    onnx.warm_up()
    torch.warm_up()
    for text in TEXTS:
        np.testing.assert_allclose(onnx.run(text=text)["embedding"], torch.run(text=text)["embedding"], atol=1e-5)


def test_a_pipeline_with_the_onnx_embedders_serialises_and_loads_back():
    from haystack import Pipeline

    pipeline = Pipeline()
    pipeline.add_component("documents", _runtime("onnx").document_embedder(batch_size=4))
    pipeline.add_component("text", _runtime("onnx").text_embedder())
    loaded = Pipeline.loads(pipeline.dumps(), allowed_modules=["knowledge.onnx_components"])
    for name in ("documents", "text"):
        component = loaded.get_component(name)
        assert type(component) is type(pipeline.get_component(name))
        assert (component.cache_dir, component.threads) == (_runtime("onnx").cache_dir, 1)
    loaded.warm_up()
    result = loaded.run({"documents": {"documents": [Document(content="hello")]}, "text": {"text": "hello"}})
    np.testing.assert_allclose(result["documents"]["documents"][0].embedding, result["text"]["embedding"], atol=1e-6)


def test_the_export_is_made_once_and_reused(tmp_path, monkeypatch):
    model_dir = Path(_local_model_path())
    model = load_onnx_model(model_dir=model_dir, cache_dir=tmp_path, threads=1)
    graph = graph_path(model_dir=model_dir, cache_dir=tmp_path)
    assert graph.is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == [graph.name, f"{graph.name}.lock"]  # no temporary

    def no_export(**_):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_model, "export_graph", no_export)
    again = load_onnx_model(model_dir=model_dir, cache_dir=tmp_path, threads=1)
    np.testing.assert_array_equal(again.encode(TEXTS), model.encode(TEXTS))


def test_a_damaged_graph_is_exported_again(tmp_path):
    model_dir = Path(_local_model_path())
    graph = graph_path(model_dir=model_dir, cache_dir=tmp_path)
    graph.write_bytes(b"\x08\x07 not a graph, as a disk that filled up mid-write might leave it")
    model = load_onnx_model(model_dir=model_dir, cache_dir=tmp_path, threads=1)
    assert graph.stat().st_size > 1_000_000
    reference = _runtime("torch").vectors(batch_size=8)(TEXTS)
    np.testing.assert_allclose(model.encode(TEXTS), reference, atol=1e-5)


def test_an_export_that_does_not_match_torch_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_model, "EXPORT_TOLERANCE", -1.0)  # no graph can match that
    with pytest.raises(OnnxExportError, match="differ from torch"):
        load_onnx_model(model_dir=Path(_local_model_path()), cache_dir=tmp_path, threads=1)
    assert [path.suffix for path in tmp_path.iterdir()] == [".lock"]  # neither a graph nor a temporary file


def test_processes_starting_together_export_once(tmp_path):
    """On a fresh machine the server and its embedding process start at once; one exports, the other waits."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from knowledge import onnx_model\n"
        "from knowledge.embedders import _local_model_path\n"
        "exported = []\n"
        "export = onnx_model.export_graph\n"
        "onnx_model.export_graph = lambda **kw: (exported.append(1), export(**kw))\n"
        "model_dir, cache_dir = Path(_local_model_path()), Path(sys.argv[1])\n"
        "model = onnx_model.load_onnx_model(model_dir=model_dir, cache_dir=cache_dir, threads=1)\n"
        "print(len(exported), model.encode(['hello']).shape)\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-c", script, str(tmp_path)]
    processes = [
        subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for _ in range(2)
    ]
    outputs = sorted(process.communicate(timeout=300)[0].strip() for process in processes)
    assert outputs == ["0 (1, 384)", "1 (1, 384)"]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_int8_vectors_are_close_to_the_float_ones_but_not_equal():
    int8 = _embed_documents(_runtime("onnx-int8"), batch_size=3)
    float32 = _embed_documents(_runtime("onnx"), batch_size=3)
    assert int8.shape == float32.shape
    # Each text is run alone: its vector does not depend on the texts that share its batch.
    np.testing.assert_array_equal(_embed_documents(_runtime("onnx-int8"), batch_size=1), int8)
    np.testing.assert_allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    assert _cosines(int8, float32).min() >= onnx_model.QUANTIZED_MIN_COSINE
    # Close is not equal: which is why these vectors never share an index with float ones.
    assert np.abs(int8 - float32).max() > 1e-3
    text = _runtime("onnx-int8").text_embedder()
    text.warm_up()
    np.testing.assert_allclose(text.run(text="no context")["embedding"], int8[len(TEXTS)], atol=1e-5)


def test_each_runtime_s_vectors_carry_their_model_id():
    ids = {}
    for name in LocalRuntime.NAMES:
        with override_settings(EMBEDDING_RUNTIME=name):
            ids[name] = embedding_spec().model_id
    assert ids == {
        "torch": "local:all-MiniLM-L6-v2:384",
        "onnx": "local:all-MiniLM-L6-v2:384",  # torch's vectors: an index moves between them without a reindex
        "onnx-int8": "local:all-MiniLM-L6-v2:384:int8",
    }
    with override_settings(EMBEDDING_RUNTIME="onnx-int8", EMBEDDING_BACKEND="openai"):
        assert embedding_spec().variant == ""  # the runtime is the offline model's alone


def test_the_int8_graph_is_made_once_from_the_export_and_reused(tmp_path, monkeypatch):
    model_dir = Path(_local_model_path())
    model = load_onnx_model(model_dir=model_dir, cache_dir=tmp_path, threads=1, int8=True)
    graph = graph_path(model_dir=model_dir, cache_dir=tmp_path)
    int8 = quantized_path(graph)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([graph.name, int8.name, f"{graph.name}.lock"])
    assert int8.stat().st_size < graph.stat().st_size / 3  # int8 weights, not a copy

    def made_again(**_):
        raise AssertionError("made again")

    monkeypatch.setattr(onnx_model, "export_graph", made_again)
    monkeypatch.setattr(onnx_model, "quantize_graph", made_again)
    again = load_onnx_model(model_dir=model_dir, cache_dir=tmp_path, threads=1, int8=True)
    np.testing.assert_array_equal(again.encode(TEXTS), model.encode(TEXTS))
    # A damaged int8 file is quantised again from the float graph, which is not exported again.
    int8.write_bytes(b"torn")
    monkeypatch.undo()
    monkeypatch.setattr(onnx_model, "export_graph", made_again)
    remade = load_onnx_model(model_dir=model_dir, cache_dir=tmp_path, threads=1, int8=True)
    np.testing.assert_allclose(remade.encode(TEXTS), model.encode(TEXTS), atol=1e-6)


def test_an_int8_graph_too_far_from_the_float_one_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_model, "QUANTIZED_MIN_COSINE", 1.01)  # no quantised graph can reach that
    with pytest.raises(OnnxExportError, match="differ from the float graph"):
        load_onnx_model(model_dir=Path(_local_model_path()), cache_dir=tmp_path, threads=1, int8=True)
    graph = graph_path(model_dir=Path(_local_model_path()), cache_dir=tmp_path)
    # The checked float graph stays; neither an int8 graph nor a temporary file is left.
    assert sorted(path.name for path in tmp_path.iterdir()) == [graph.name, f"{graph.name}.lock"]


@pytest.mark.parametrize("name", ["onnx", "onnx-int8"])
def test_a_process_that_only_embeds_does_not_load_torch(name):
    """The embedding process on ONNX Runtime loads neither torch nor Haystack: less memory, a faster start."""
    _runtime(name).vectors(batch_size=8)  # the graph exists before the child looks for it
    script = (
        "import sys\n"
        "from knowledge.embedders import LocalRuntime\n"
        f"runtime = LocalRuntime(name={name!r}, cache_dir={_runtime(name).cache_dir!r}, threads=1)\n"
        "vectors = runtime.vectors(batch_size=8)(['hello', 'world'])\n"
        "print(vectors.shape, 'torch' in sys.modules, 'haystack' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split("\n")[0] == "(2, 384) False False"
