"""Haystack's SentenceTransformers embedders on the ONNX graph of their local model (knowledge.onnx_model).

The components stay Haystack's (meta fields, separators, batching, Document handling are theirs); only their
``embedding_backend`` is the ONNX model.
"""

from pathlib import Path
from typing import Any

from haystack import component
from haystack_integrations.components.embedders.sentence_transformers import (
    SentenceTransformersDocumentEmbedder,
    SentenceTransformersTextEmbedder,
)

from .onnx_model import OnnxEmbeddingBackend, shared_onnx_model


class _OnnxBackendMixin:
    """Warm-up that loads the ONNX model instead of sentence-transformers on torch."""

    def __init__(self, *, cache_dir: str, threads: int, int8: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cache_dir = cache_dir
        self.threads = threads
        self.int8 = int8

    def to_dict(self) -> dict[str, Any]:
        """Haystack's serialisation, with this runtime's own parameters."""
        data = super().to_dict()
        data["init_parameters"].update(cache_dir=self.cache_dir, threads=self.threads, int8=self.int8)
        return data

    def warm_up(self) -> None:
        """Load (or first export and quantise) the graph."""
        if self.embedding_backend is None:
            self.embedding_backend = OnnxEmbeddingBackend(
                shared_onnx_model(
                    model_dir=Path(self.model), cache_dir=Path(self.cache_dir), threads=self.threads, int8=self.int8
                )
            )


@component
class OnnxDocumentEmbedder(_OnnxBackendMixin, SentenceTransformersDocumentEmbedder):
    """Haystack's SentenceTransformersDocumentEmbedder on the ONNX graph of its (local) model."""


@component
class OnnxTextEmbedder(_OnnxBackendMixin, SentenceTransformersTextEmbedder):
    """Haystack's SentenceTransformersTextEmbedder on the ONNX graph of its (local) model."""
