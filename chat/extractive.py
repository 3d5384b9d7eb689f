"""The offline answerer: quotes the retrieved sentences, list items or table rows that best answer a question.

It reads chunk text the way ingestion writes it (``knowledge.markdown``): paragraphs, lists as "• item" or
"3. item" lines introduced by a lead-in that ends in a colon, table rows as "Header: value; Header: value",
and code between fences. Code is quoted only with the sentence that introduces it ("Delete old rows with a
cron line such as:"), never on its own: that sentence alone would promise an answer it does not give.
"""

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from django.conf import settings
from haystack import Document, component
from haystack.dataclasses import ChatMessage, StreamingChunk

from knowledge.embedders import shared_document_embedder
from knowledge.ingestion import chunk_context
from knowledge.markdown import fence_info, fence_roles, fenced, outline_lead, section_heading
from knowledge.notebooks import OUTPUT_INFO

from .text import (
    MAX_SENTENCE_WORDS,
    abbreviation_asked,
    answer_words,
    asks_about_aims,
    asks_for_list,
    asks_for_number,
    asks_how_to,
    content_words,
    defines,
    markdown_literal,
    plain,
    spells_out,
    split_sentences,
    states_number,
    terms_asked,
)

logger = logging.getLogger(__name__)

NO_ANSWER_MARKER = "NO_ANSWER"
SELECTION_MARKER = "SELECTION_DOES_NOT_ANSWER"
# Reply statuses (chat.answering.ReplyStatus values; extractive stays importable without the pipeline modules).
ANSWERED, NO_ANSWER, SELECTION_ONLY = "answered", "no_answer", "selection_only"

_ITEM = re.compile(r"^\s*(?:•|[-*+]|\d{1,3}[.)])\s+(.*)$")
_LABEL = re.compile(r"[^\s:](?:[^:]{0,40}):")
_ROW_HEADER = re.compile(r"^[^:;\n]{1,80}: ")
# A row may open with a cell whose column has no header: a pandas table's row number ("0; month: June; ...").
_ROW = re.compile(r"^(?:[^:;\n]{1,80}; )?" + _ROW_HEADER.pattern.removeprefix("^") + r"\S")
_PIPE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_PIPE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}")
_EXERCISES = re.compile(r"\b(exercises?|review questions?|quiz(zes)?|self[- ]check|test yourself|questions)\b", re.I)
_EXERCISE_TASK = re.compile(r"\s*(?:exercise|activity|task|challenge|problem|question)\s+\d+(?:\.\d+)*[a-z]?\b", re.I)
# A chapter's learning objectives ("Define Physical AI and explain its applications") repeat the questions a
# reader asks in the words of a task: they answer only what the chapter teaches.
_AIMS_SECTION = re.compile(r"\b(objectives?|learning outcomes?|learning goals?|what you('ll| will) learn)\b", re.I)
_AIMS_LEAD = re.compile(r"(learning objectives?|by the end of this (chapter|module|lesson|unit|section|page))\b", re.I)
MAX_LIST_ITEMS = 8
# A setting in a code block (`max_minutes = 20`, `port: 8080`, `export TOKEN=...`, `"key": value`), with a value.
_SETTING = re.compile(r"""^\s*(?:export\s+|-\s+)?["']?(?P<key>[A-Za-z_][\w.-]*\w)["']?\s*(?:=|:(?!:))\s*\S""")
_WORD = re.compile(r"[A-Za-z_][\w.-]*\w")
MAX_SETTING_LINES = 3
# An answer quotes at most this many pieces that score about as well as the best (more only repeat the passage).
MAX_QUOTES = 3
# A code block quoted after its lead-in is cut past this many lines or characters (the citation has it whole).
MAX_CODE_LINES = 12
MAX_CODE_CHARS = 800


@dataclass(frozen=True)
class Quotable:
    """A piece of a source that can be quoted whole: a sentence, a list item, a table row or a lead-in."""

    index: int
    text: str
    kind: str  # sentence | item | row | lead
    block: int
    lead: str = ""
    caption: str = ""
    items: tuple[str, ...] = ()
    code: str = ""  # a lead-in's code block, or the settings a sentence names from the code beside it
    titled: bool = False  # a lead-in that is its section's heading, not a line of the text
    asked: str = ""  # the question the passage asked before this piece (a FAQ's "Q: …?"), which it answers


def _is_prose(sentence: str) -> bool:
    """Whether a span reads as a sentence, not a fragment of code or a command line."""
    visible = [ch for ch in sentence if not ch.isspace()]
    letters = sum(ch.isalpha() for ch in visible)
    return len(sentence.split()) >= 3 and letters >= 0.6 * max(len(visible), 1)


def _blocks(text: str) -> list[tuple[str | None, list[str]]]:
    """Blank-line separated blocks of a chunk as (a code block's info string, None for text; lines); a fenced
    block is one block, fences left out."""
    lines = text.split("\n")
    blocks: list[tuple[str | None, list[str]]] = [(None, [])]
    for index, role in fence_roles(lines):
        line = lines[index]
        if role in ("open", "close"):
            blocks.append((fence_info(line) if role == "open" else None, []))
        elif role == "text" and not line.strip():
            blocks.append((None, []))
        else:
            blocks[-1][1].append(line)
    return [
        part
        for info, lines in blocks
        if any(line.strip() for line in lines)
        for part in _lead_apart(*_printed_prose(info, lines))
    ]


def _printed_prose(info: str | None, lines: list[str]) -> tuple[str | None, list[str]]:
    """A notebook's printed output that is sentences ("The barrel covered 70% of the watering.") reads as text:
    what a cell printed answers as the page's prose does. Printed columns, numbers or tracebacks stay code."""
    printed = info is not None and info.split()[:1] == [OUTPUT_INFO]
    if printed and all(_is_prose(line) for line in lines if line.strip()):
        return None, lines
    return info, lines


def _lead_apart(info: str | None, lines: list[str]) -> list[tuple[str | None, list[str]]]:
    """A lead-in and the items or rows it introduces, on the next line (as ingestion repeats a long list's
    lead-in at the top of each of its later chunks), as two blocks: the lead-in, then the list."""
    rest = lines[1:]
    if info is None and rest and lines[0].rstrip().endswith(":") and not _ITEM.match(lines[0]):
        if all(_ITEM.match(line) for line in rest) or all(_ROW.match(line) for line in rest):
            return [(None, lines[:1]), (None, rest)]
    return [(info, lines)]


def _quoted_code(lines: list[str]) -> str:
    """A code block as it is quoted: whole, or its first lines and a line that says it goes on."""
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    while lines and not lines[0].strip():
        lines = lines[1:]
    kept: list[str] = []
    for line in lines[:MAX_CODE_LINES]:
        if sum(len(k) + 1 for k in kept) + len(line) > MAX_CODE_CHARS:
            break
        kept.append(line.rstrip())
    return "\n".join(kept + (["…"] if len(kept) < len(lines) else []))


def _pipe_rows(lines: list[str]) -> list[str]:
    """A Markdown pipe table (chunks indexed before ingestion wrote rows as text) as 'Header: value' rows."""
    cells = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines]
    rows = [row for line, row in zip(lines, cells, strict=True) if not _PIPE_RULE.match(line)]
    if len(rows) < 2:
        return []
    header = rows[0]
    return ["; ".join(f"{h}: {v}" if h else v for h, v in zip(header, row, strict=False) if v) for row in rows[1:]]


def quotables(documents: list[Document], *, only: set[int] | None = None) -> list[Quotable]:
    """Everything quotable in the documents (those numbered in ``only``, if given), in order, each once:
    overlapping chunks repeat text."""
    out: list[Quotable] = []
    seen: set[str] = set()
    block_id = 0
    code_blocks: dict[int, tuple[int, str, list[str]]] = {}  # block id: (document number, info string, lines)

    def add(candidate: Quotable) -> None:
        key = " ".join(content_words(candidate.text))
        if key and key not in seen:
            seen.add(key)
            out.append(replace(candidate, asked=asked))

    for index, doc in enumerate(documents, start=1):
        if only is not None and index not in only:
            continue
        section = str(doc.meta.get("section", ""))
        if _EXERCISES.search(section):
            continue  # exercise and review questions are not answers
        caption = section_heading(section) if section else str(doc.meta.get("title", ""))
        previous = ""
        asked, asked_in = "", 0  # the passage's last question, and its block
        for position, (info, lines) in enumerate(_blocks(doc.content or "")):
            block_id += 1
            if asked and asked_in < block_id - 1:
                asked = ""  # its answer is the block after it (a FAQ's "A: …" paragraph), not all that follows
            lead = previous if previous.rstrip().endswith(":") else ""
            introduced = _lead_in(out, index=index, lead=lead)
            if info is not None:
                code_blocks[block_id] = (index, info, lines)
                # The code a lead-in introduces is quoted with it; code alone is not an answer.
                code = fenced(_quoted_code(lines), info=info)
                if introduced:
                    out[-1] = replace(introduced, kind="lead", code=code)
                elif position == 0 and caption:
                    # Code that opens its passage ("## GitHub Actions" then the workflow step) is introduced by
                    # its heading, as a list there is.
                    add(Quotable(index, outline_lead(caption), "lead", block_id, code=code, titled=True))
                previous = ""
                continue
            items = [m.group(1).strip() for m in map(_ITEM.match, lines) if m]
            if items and len(items) == len(lines):
                kept = tuple(item for item in items if not item.rstrip().endswith("?"))
                if introduced:
                    out[-1] = replace(introduced, kind="lead", block=block_id, items=kept[:MAX_LIST_ITEMS])
                elif not previous and caption:
                    # A list that opens its passage with no line of its own before it ("### Types of sensors"
                    # then the types) is introduced by its heading: "Types of sensors: …" is the whole list.
                    add(Quotable(index, outline_lead(caption), "lead", block_id, items=kept[:MAX_LIST_ITEMS]))
                # A section's outline (its subsections' headings, introduced by its own heading) answers as a
                # whole: one heading alone says nothing its subsection's text does not say better.
                outline = introduced is not None and introduced.text == outline_lead(caption)
                for item in [] if outline else kept:
                    add(Quotable(index, item, "item", block_id, lead=_last_sentence(lead)))
            elif all(_PIPE_ROW.match(line) for line in lines):
                for row in _pipe_rows(lines):
                    add(Quotable(index, row, "row", block_id, caption=caption))
            elif all(_ROW.match(line) for line in lines) and (len(lines) > 1 or "; " in lines[0]):
                for row in lines:
                    add(Quotable(index, row.strip(), "row", block_id, caption=caption))
            else:
                paragraph = " ".join(line.strip() for line in lines)
                # An exercise's task ("Exercise 4: DNS transport: Explain when DNS uses TCP.") asks, it does not
                # answer; its sample solution, a paragraph of its own, does.
                spans = [] if _EXERCISE_TASK.match(paragraph) else split_sentences(paragraph)
                for start, end in spans:
                    sentence = paragraph[start:end]
                    # A label alone on its line ("macOS:", a tab's name) introduces the code or list after it.
                    label = len(spans) == 1 and _LABEL.fullmatch(sentence) is not None
                    if sentence.rstrip().endswith("?"):
                        asked, asked_in = sentence, block_id  # what follows answers it (a FAQ)
                    elif label or _is_prose(sentence):
                        add(Quotable(index, sentence, "sentence", block_id))
            previous = " ".join(line.strip() for line in lines)
    # A sentence ending in a colon only says that something follows: it is quoted with its code or list (as a
    # lead), never alone.
    return [
        _with_settings(piece, code_blocks=code_blocks)
        for piece in out
        if not (piece.kind == "sentence" and piece.text.rstrip().endswith(":"))
    ]


def _with_settings(piece: Quotable, *, code_blocks: dict[int, tuple[int, str, list[str]]]) -> Quotable:
    """A sentence that names a setting of the code block beside it in its chunk ("never waters for longer than
    max_minutes" after a block holding `max_minutes = 20`) is quoted with that setting's line: the sentence
    alone names the setting, the line gives its value."""
    if piece.kind != "sentence":
        return piece
    words = set(_WORD.findall(piece.text))
    for block in (piece.block - 1, piece.block + 1):
        index, info, lines = code_blocks.get(block, (0, "", []))
        named = [line.rstrip() for line in lines if (m := _SETTING.match(line)) and m.group("key") in words]
        if index == piece.index and named:
            return replace(piece, code=fenced("\n".join(named[:MAX_SETTING_LINES]), info=info))
    return piece


def _states_aims(piece: Quotable, documents: list[Document]) -> bool:
    """Whether a piece is one of a chapter's learning objectives: under such a heading, or after such a line."""
    heading = section_heading(str(documents[piece.index - 1].meta.get("section", "")))
    return bool(_AIMS_SECTION.search(heading) or _AIMS_LEAD.match(piece.lead or piece.text))


def _lead_in(out: list[Quotable], *, index: int, lead: str) -> Quotable | None:
    """The last piece so far, when it is the sentence of document ``index`` that ends the lead-in paragraph."""
    last = out[-1] if out and lead else None
    if last and last.index == index and last.kind == "sentence" and last.text == _last_sentence(lead):
        return last
    return None


def _last_sentence(paragraph: str) -> str:
    spans = split_sentences(paragraph)
    return paragraph[spans[-1][0] : spans[-1][1]] if spans else paragraph


def render(chosen: list[Quotable]) -> str:
    """Quote the chosen pieces with their citations; items of one list share their lead-in, and code follows
    its lead-in as a fenced block (Markdown, as chat clients render it)."""
    parts: list[tuple[str, str]] = []  # (quote, code after it)
    done: set[int] = set()
    for position, piece in enumerate(chosen):
        if position in done:
            continue
        if piece.kind == "item":
            siblings = [p for p in chosen[position:] if p.kind == "item" and p.block == piece.block]
            done.update(i for i, p in enumerate(chosen) if p in siblings)
            body = _join_items([p.text for p in siblings])
            text = f"{plain(piece.lead)} {body}" if piece.lead else body
        elif piece.kind == "lead":
            text = plain(piece.text) + (" " + _join_items(list(piece.items)) if piece.items else "")
        elif piece.kind == "row":
            text = f"{plain(piece.caption)}: {plain(piece.text)}" if piece.caption else plain(piece.text)
        else:
            text = plain(piece.text)
        # The answer is Markdown (its code blocks are fenced): quoted text must show as the book wrote it.
        parts.append((f"“{markdown_literal(text)}” [{piece.index}]", piece.code))
    rendered = ""
    for position, (quote, code) in enumerate(parts):
        if position:
            rendered += "\n\n" if parts[position - 1][1] else " "
        rendered += quote + (f"\n\n{code}" if code else "")
    return rendered


def _join_items(items: list[str]) -> str:
    """List items in one line: '; ' between items that do not end a sentence themselves (an item's own ';' or
    ',' at its end gives way to it)."""
    parts = [plain(item).rstrip(";,") for item in items]
    return "".join(
        part + ("" if i == len(parts) - 1 else (" " if part[-1:] in ".!?" else "; ")) for i, part in enumerate(parts)
    )


def _context(document: Document) -> str:
    if document.meta.get("chunk_id") is None:
        return ""  # a selection we could not place in the book has no section to read it in
    return chunk_context(title=document.meta.get("title", ""), section=document.meta.get("section", ""))


def scoring_texts(documents: list[Document], candidates: list[Quotable]) -> list[str]:
    """What is scored for each candidate: the piece read in its context."""
    texts = []
    # A piece is read in its section's context: "Its chief engineer was..." under "Bridges > Golden Gate";
    # a list item with its lead-in line.
    for candidate in candidates:
        context = _context(documents[candidate.index - 1])
        body = f"{candidate.lead} {candidate.text}" if candidate.lead else candidate.text
        if candidate.kind == "lead" and candidate.titled and candidate.code:
            # Code under its heading alone is read by the heading: the code may hold any words (the guide's
            # curl example sends "How do I add a document?" as its message).
            body = candidate.text
        elif candidate.kind == "lead":
            # Its code counts without the fence (the info string's language and title do count).
            body = " ".join([candidate.text, *candidate.items, candidate.code.strip("`")])
        texts.append(f"{context}: {body}" if context else body)
    return texts


def _clipped(text: str) -> str:
    # Scoring needs the gist of a piece, not all of a 300-token table row.
    return " ".join(text.split()[:MAX_SENTENCE_WORDS])


def embedded_texts(*, title: str, section: str, chunk_id: int, text: str) -> list[str]:
    """What the answerer embeds for one indexed chunk's pieces, so that ingestion can embed it ahead of readers."""
    document = Document(content=text, meta={"title": title, "section": section, "chunk_id": chunk_id})
    return [_clipped(text) for text in scoring_texts([document], quotables([document]))]


def quote_embedder() -> Any:
    """What embeds quotable pieces, as readers ask and at ingestion alike. With the offline model, small batches:
    padding a batch to its longest piece costs more than batching saves on CPU. A remote API gets full batches."""
    return shared_document_embedder(batch_size=4 if settings.EMBEDDING_BACKEND == "local" else None)


def about_the_selection(question: str) -> bool:
    """'What does this mean?': a question with at most one word of its own is about the selected passage."""
    return len(set(content_words(question))) <= 1


class QuoteVectors:
    """The vectors of quotable pieces read in their context (``scoring_texts``): from memory, else from those
    stored at ingestion (chat.selectors.quote_vectors), else embedded now. One per process, shared by the
    answerer and the evidence gate: the same chunks come back for many questions. ``embedder`` makes the
    embedder, on the first piece that has no stored vector (a server answering with a language model may never
    need it, and need not hold the model)."""

    def __init__(
        self,
        *,
        embedder: Callable[[], Any],
        stored: Callable[..., dict[str, np.ndarray]] | None = None,
        cache_size: int = 20000,
    ) -> None:
        self._make_embedder = embedder
        self._embedder: Any = None
        self.stored = stored
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    def vectors(self, scored: list[str]) -> np.ndarray:
        """The vectors of scoring texts, in order."""
        texts = [_clipped(text) for text in scored]
        with self._cache_lock:
            known = {t: self._cache[t] for t in texts if t in self._cache}
            for t in known:
                self._cache.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        fresh = self._stored(missing) if missing else {}
        missing = [t for t in missing if t not in fresh]
        if missing:
            embedded = self.embedder().run(documents=[Document(content=t) for t in missing])["documents"]
            fresh.update({t: np.asarray(doc.embedding, dtype=float) for t, doc in zip(missing, embedded, strict=True)})
        if fresh:
            known.update(fresh)
            with self._cache_lock:
                self._cache.update(fresh)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return np.array([known[t] for t in texts], dtype=float)

    def embedder(self) -> Any:
        """The embedder, made on first use."""
        with self._cache_lock:
            if self._embedder is None:
                self._embedder = self._make_embedder()
            return self._embedder

    def similarities(self, scored: list[str], *, embedding: Any) -> np.ndarray:
        """The cosine similarity of a question's vector to each scoring text's."""
        vectors = self.vectors(scored)
        query = np.asarray(embedding, dtype=float)
        return vectors @ query / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(query) + 1e-9)

    def best_similarity(self, *, documents: list[Document], embedding: Any) -> float:
        """The cosine similarity of a question's vector to the closest quotable piece of the documents."""
        pieces = quotables(documents)
        if not pieces or embedding is None:
            return 0.0
        return float(self.similarities(scoring_texts(documents, pieces), embedding=embedding).max())

    def _stored(self, texts: list[str]) -> dict[str, np.ndarray]:
        if self.stored is None:
            return {}
        try:
            return self.stored(texts=texts)
        except Exception:  # noqa: BLE001 - a lookup that fails (database down) costs time, never the answer
            logger.warning("stored quote vectors could not be read; embedding instead", exc_info=True)
            return {}


@component
class ExtractiveAnswerer:
    """The offline answerer: quotes what best answers the question, with citations.

    Candidates are scored by embedding similarity to the question and by the share of the question's content
    words they contain. It never writes new text, and says so through its ``generator`` name. With a selected
    passage it answers from the passage's context (the text around it in the book), never by repeating it.
    """

    NAME = "extractive"

    def __init__(
        self,
        *,
        sentence_embedder: Any = None,
        semantic_weight: float = 0.5,
        # What a sentence from the reader's page gains: with BM25 in retrieval, passages from other chapters that
        # repeat the question's words reach the top 5 more often, and 0.05 no longer broke near ties for the page.
        page_bonus: float = 0.08,
        # What a quoted command gains for a question asking how to do something: the lead-in with its code is
        # the answer a reader can act on. 0.05 lost Starlette's "How do I increase the number of threads?" to the
        # caution after the step, which repeats the question's words; the fixture books answer the same with 0.1.
        procedure_bonus: float = 0.1,
        # What a piece that gives a number gains for a question asking for one ("How many turns…?"): a sentence
        # that repeats the question's words without the number does not answer it.
        number_bonus: float = 0.05,
        # What a lead-in with its list, or with its block (a diagram of layers drawn in a code fence), gains for a
        # question asking for several things ("What are the key characteristics…?"): one item, or one
        # subsection's sentence, answers a part of it.
        list_bonus: float = 0.05,
        # What a piece that spells an abbreviation out gains for "What does LIDAR stand for?": its sentence and
        # any other about LIDAR share the same words.
        expansion_bonus: float = 0.05,
        # What a piece that starts with the term gains for "What is grey box testing?": the section's definition
        # ("Grey box testing combines…") reads less like the question than a list of the term's characteristics
        # under a heading that names it.
        definition_bonus: float = 0.1,
        min_score: float = 0.2,
        selection_min_score: float = 0.3,
        cache_size: int = 20000,
        stored_vectors: Callable[..., dict[str, np.ndarray]] | None = None,
        vectors: QuoteVectors | None = None,
    ) -> None:
        # Its pieces' vectors: ``vectors`` shared with the evidence gate, or its own from ``sentence_embedder``
        # (vectors made at ingestion, chat.selectors.quote_vectors, are looked up before anything is embedded).
        self.vectors = vectors or QuoteVectors(
            embedder=lambda: sentence_embedder, stored=stored_vectors, cache_size=cache_size
        )
        self.semantic_weight = semantic_weight
        self.page_bonus = page_bonus
        self.procedure_bonus = procedure_bonus
        self.number_bonus = number_bonus
        self.list_bonus = list_bonus
        self.expansion_bonus = expansion_bonus
        self.definition_bonus = definition_bonus
        self.min_score = min_score
        self.selection_min_score = selection_min_score

    @property
    def sentence_embedder(self) -> Any:
        """What embeds the pieces that have no stored vector."""
        return self.vectors.embedder()

    def warm_up(self) -> None:
        """Load the embedder with the pipeline, before the first question (a shared one is made on first use)."""
        self.vectors.embedder()

    @component.output_types(replies=list[ChatMessage])
    def run(
        self,
        question: str,
        documents: list[Document],
        query_embedding: Any | None = None,
        streaming_callback: Any | None = None,
    ) -> dict[str, list[ChatMessage]]:
        """Return one reply: quoted passages with [n] citations, or a marker when nothing fits."""
        has_selection = bool(documents) and documents[0].meta.get("kind") == "selection"
        if has_selection:
            status, text = self._answer_selection(question, documents, query_embedding)
        else:
            candidates = quotables(documents)
            if not asks_about_aims(question):
                candidates = [piece for piece in candidates if not _states_aims(piece, documents)]
            if not asks_how_to(question):
                # Code under its heading with no sentence of the text before it shows how; it says what
                # something is or does only in code ("What does dev-mode do?" of an API reference's signature).
                candidates = [piece for piece in candidates if not (piece.titled and piece.code)]
            status, text = self._answer(question, documents, candidates, query_embedding)
        if streaming_callback is not None:
            for piece in re.findall(r"\S+\s*", text):
                streaming_callback(StreamingChunk(content=piece))
        # The status travels in meta: markers in the text are only for what an LLM writes.
        return {"replies": [ChatMessage.from_assistant(text, meta={"model": self.NAME, "status": status})]}

    def _answer(
        self, question: str, documents: list[Document], candidates: list[Quotable], embedding: Any
    ) -> tuple[str, str]:
        if not candidates:
            return NO_ANSWER, ""
        if answered := _answer_asked(question, candidates):
            return ANSWERED, render(answered)
        scores = self._scores(question, documents, candidates, embedding)
        order = np.argsort(-scores)
        best = int(order[0])
        if documents[0].meta.get("front_page"):
            # A question about the book: how the book introduces itself, and what fits the question best.
            opening = next((c for c in candidates if c.kind in ("sentence", "lead")), candidates[0])
            fits = candidates[best] if scores[best] >= self.min_score else opening
            return ANSWERED, render([opening] if fits is opening else [opening, fits])
        if scores[best] < self.min_score:
            return NO_ANSWER, ""
        top = candidates[best]
        if asks_how_to(question) and (step := _step_after(candidates, best)):
            # "By default, environments will install your project during creation. To ignore this step, set
            # skip-install to true:" and its code: the sentence asked about, then the step its paragraph gives.
            return ANSWERED, render([top, step])

        def beside(i: int) -> bool:  # a sentence (or list item) of the same passage as the best one
            piece = candidates[i]
            return top.kind in ("sentence", "item") and piece.kind == top.kind and piece.index == top.index

        picked = [best]
        for runner_up in map(int, order[1:MAX_QUOTES]):
            if scores[runner_up] < 0.9 * scores[best] or candidates[runner_up].kind == "lead":
                break
            if top.kind == "lead" and candidates[runner_up].block == top.block:
                continue  # an item of the list the lead-in quotes whole
            # A third quote only when all are sentences (or items) of one passage: together they are its paragraph.
            if len(picked) == 2 and not all(beside(i) for i in (*picked, runner_up)):
                break
            picked.append(runner_up)
        # Sentences of one passage read in its order (a later one explains an earlier), a list's items in the
        # list's (the steps of a procedure); table rows by score, the row asked about first.
        own = sorted(i for i in picked if beside(i))
        return ANSWERED, render([candidates[i] for i in own + [i for i in picked if i not in own]])

    def _answer_selection(self, question: str, documents: list[Document], embedding: Any) -> tuple[str, str]:
        """Answer from the text around the selection (its chunk and the chunks either side, in its section).

        "What does this mean?" is explained by the context outside the selection, never by repeating it; a
        question of its own is answered by whatever in that context answers it best. A selection that could
        not be placed in the book is its own only context.
        """
        selection = documents[0].content or ""
        about = about_the_selection(question)
        pool = [i for i, doc in enumerate(documents, start=1) if doc.meta.get("role") == "context"] or [1]
        selected = set(content_words(selection))
        pieces = quotables(documents, only=set(pool))
        if about:
            pieces = [q for q in pieces if not _inside(q.text, selection, selected)]
        if pieces:
            probe, vector = (selection, self._embed_text(selection)) if about else (question, embedding)
            scores = self._scores(probe, documents, pieces, vector)
            best = int(np.argmax(scores))
            if scores[best] >= self.selection_min_score:
                return ANSWERED, render([pieces[best]])
        message = "The selected passage does not answer this question."
        outside = quotables(documents, only=set(range(2, len(documents) + 1)) - set(pool))
        if outside and not about:
            scores = self._scores(question, documents, outside, embedding)
            best = int(np.argmax(scores))
            if scores[best] >= self.min_score:
                message += " Elsewhere in the sources: " + render([outside[best]])
        return SELECTION_ONLY, message

    def _scores(
        self, question: str, documents: list[Document], candidates: list[Quotable], embedding: Any
    ) -> np.ndarray:
        texts = scoring_texts(documents, candidates)
        lexical = self._lexical(question, texts)
        # A passage from the page the reader is on (the more so from its section) wins a near tie: that is the
        # one they are asking about.
        metas = [documents[c.index - 1].meta for c in candidates]
        on_page = np.array([bool(m.get("on_page")) + 0.5 * bool(m.get("on_section")) for m in metas], dtype=float)
        bonus = self.page_bonus * on_page
        if asks_how_to(question):
            commands = [c.kind == "lead" and bool(c.code) for c in candidates]
            bonus = bonus + self.procedure_bonus * np.array(commands, dtype=float)
        if asks_for_number(question):
            numbers = [states_number(" ".join([c.text, *c.items, c.code])) for c in candidates]
            bonus = bonus + self.number_bonus * np.array(numbers, dtype=float)
        if asks_for_list(question):
            lists = [c.kind == "lead" and bool(c.items or c.code) for c in candidates]
            bonus = bonus + self.list_bonus * np.array(lists, dtype=float)
        if abbreviation := abbreviation_asked(question):
            spelt = [spells_out(c.text, abbreviation) for c in candidates]
            bonus = bonus + self.expansion_bonus * np.array(spelt, dtype=float)
        if terms := terms_asked(question):
            # A table row defines the term its first cell names ("Term: TTL; Meaning: time to live").
            defining = [
                defines(_ROW_HEADER.sub("", c.text, count=1) if c.kind == "row" else c.text, terms) for c in candidates
            ]
            bonus = bonus + self.definition_bonus * np.array(defining, dtype=float)
        if embedding is None:
            return lexical + bonus
        semantic = self.vectors.similarities(texts, embedding=embedding)
        return self.semantic_weight * semantic + (1 - self.semantic_weight) * lexical + bonus

    @staticmethod
    def _lexical(question: str, texts: list[str]) -> np.ndarray:
        """Weighted share of the question's words in each text. Words found in many candidates (usually the
        topic, e.g. a name repeated throughout a section) weigh less than rarer ones (the focus)."""
        wanted = answer_words(question)
        if not wanted:
            return np.zeros(len(texts))
        words = [set(content_words(text)) for text in texts]
        count = len(texts)
        weight = {w: np.log(1 + count / (1 + sum(w in text for text in words))) for w in wanted}
        total = sum(weight.values())
        return np.array([sum(weight[w] for w in wanted & text) / total for text in words], dtype=float)

    def _embed_text(self, text: str) -> np.ndarray:
        return self.vectors.vectors([text])[0]


def _step_after(candidates: list[Quotable], at: int) -> Quotable | None:
    """The lead-in with code that ends the paragraph of the sentence ``candidates[at]``, if any: the next piece."""
    piece, step = candidates[at], candidates[at + 1] if at + 1 < len(candidates) else None
    if piece.kind != "sentence" or step is None or step.kind != "lead" or not step.code:
        return None
    return step if (step.index, step.block) == (piece.index, piece.block) else None


_QUESTION_LABEL = re.compile(r"^\W*(?:q|question)\W*[:.]\s*", re.IGNORECASE)
_ANSWER_LABEL = re.compile(r"^\W*(?:a|answer)\W*:\s*(?=\S)", re.IGNORECASE)


def _answer_asked(question: str, candidates: list[Quotable]) -> list[Quotable]:
    """When a passage asks the reader's question itself (a FAQ's "Q: What is the risk of lock-in?"), the pieces
    of its answer, the block after it ("A: Not much! …"), in order: the author's answer, however little it reads
    like the question. The best-ranked passage that asks it answers; [] when none does."""
    wanted = set(content_words(question))
    asking = next((c for c in candidates if c.asked and _asks_the_same(wanted, c.asked)), None)
    if asking is None:
        return []
    answer = [c for c in candidates if c.index == asking.index and c.asked == asking.asked][:MAX_QUOTES]
    return [replace(c, text=_ANSWER_LABEL.sub("", c.text, count=1)) for c in answer]  # "A: Not much!" -> "Not much!"


def _asks_the_same(wanted: set[str], asked: str) -> bool:
    """Whether a question the passage asks is the reader's (of content words ``wanted``), in nearly its words."""
    words = set(content_words(_QUESTION_LABEL.sub("", asked)))
    return bool(words and wanted) and len(words & wanted) / len(words | wanted) >= 0.6


def _inside(text: str, selection: str, selected: set[str]) -> bool:
    """Whether a piece of context is (mostly) the selected passage itself."""
    if " ".join(text.split()) in " ".join(selection.split()):
        return True
    words = set(content_words(text))
    return bool(words) and len(words & selected) / len(words) >= 0.6
