"""Shared fixtures: real Postgres (embedded), the real offline embedder, factories."""

from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from chat.feedback_services import answer_tally_discard
from knowledge.embedders import shared_document_embedder, shared_text_embedder
from knowledge.models import SourceDocument
from knowledge.services import document_create, document_ingest
from tests.servers import OpenAIServer

GUIDE_MD = """# Field Guide

Welcome to the field guide for the northern forest.

## Birds

The snowy owl hunts lemmings across the open tundra during the long polar day.
Its white plumage hides it against the snow.

## Trees

### Conifers

The black spruce grows slowly in waterlogged peat and can live for two centuries.

### Broadleaf

Paper birch has white bark that peels in thin sheets and was used for canoes.
"""


@pytest.fixture
def embed() -> Callable[[str], list[float]]:
    """The query embedding of a text (the real model)."""
    return lambda text: shared_text_embedder().run(text=text)["embedding"]


@pytest.fixture(autouse=True)
def no_tallied_answers():
    """Answer counts not yet written (chat.feedback_services) belong to the test that tallied them."""
    answer_tally_discard()
    yield
    answer_tally_discard()


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Throttle counters live in the cache; each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_document(db) -> Callable[..., SourceDocument]:
    """Create a document from text or a file and ingest it synchronously."""

    def make(
        *,
        title: str = "Field Guide",
        text: str = GUIDE_MD,
        file_name: str = "",
        file_data: bytes | None = None,
        reference: str = "",
        ingest: bool = True,
    ) -> SourceDocument:
        document = document_create(
            title=title, text=text, file_name=file_name, file_data=file_data, reference=reference
        )
        if ingest:
            document_ingest(document=document)
            document.refresh_from_db()
        return document

    return make


class EmbedderSpy:
    """Counts the chunks the real document embedder is asked to embed."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.calls = 0
        self.embedded = 0


@pytest.fixture
def embedder_spy(monkeypatch) -> EmbedderSpy:
    spy = EmbedderSpy()
    embedder = shared_document_embedder()
    original = embedder.run

    def counting_run(documents, *args, **kwargs):
        spy.calls += 1
        spy.embedded += len(documents)
        return original(documents, *args, **kwargs)

    monkeypatch.setattr(embedder, "run", counting_run)
    return spy


@pytest.fixture
def openai_server():
    """A local OpenAI-compatible server on 127.0.0.1 (tests.servers.FakeOpenAI drives its replies)."""
    with OpenAIServer().running() as server:
        yield server


@pytest.fixture
def staff_client(db) -> Client:
    user = get_user_model().objects.create_superuser(username="curator", email="", password="a-long-test-pass")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def knowledge(make_document):
    """The chat corpus, ingested with the real embedder into real Postgres."""
    from tests.chat.corpus import CORPUS

    return {title: make_document(title=title, text=text) for title, text in CORPUS.items()}


@pytest.fixture
def monorepo_book(tmp_path: Path) -> Path:
    """A repository whose Docusaurus site is in website/ and its docs in ../docs (as Jest and Prettier have)."""
    repo = tmp_path / "mono"
    (repo / "website" / "src" / "pages").mkdir(parents=True)
    (repo / "docs" / "guide").mkdir(parents=True)
    (repo / "website" / "docusaurus.config.js").write_text(
        "module.exports = {\n  url: 'https://mono.example.org',\n  baseUrl: '/',\n"
        "  presets: [['classic', {docs: {path: '../docs', routeBasePath: 'docs'}, blog: false}]],\n};\n"
    )
    (repo / "website" / "src" / "pages" / "about.md").write_text("# About\n\nWe build weather vanes.\n")
    (repo / "docs" / "intro.md").write_text("# Introduction\n\nThe vane turns into the wind.\n")
    (repo / "docs" / "guide" / "setup.mdx").write_text(
        "import Bolts from './_bolts.mdx';\n\n# Setup\n\nMount the vane on the mast.\n\n<Bolts />\n"
    )
    (repo / "docs" / "guide" / "_bolts.mdx").write_text("Tighten the four bolts by hand, then a quarter turn.\n")
    (repo / "README.md").write_text("# Mono\n\nThe repository, not the book.\n")
    return repo
