"""Text helpers for the offline answerer and the evidence gate: words, stems, sentences, terms of a question."""

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterator
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import islice

import snowballstemmer

from knowledge.ranking import tokens_of
from knowledge.spelling import american_spelling

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")
_RAW_WORD = re.compile(r"[^\W_][\w'\-]*", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n|\n(?=\s*[-*#•]|\s*\d+\.)")
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being do does did
    done have has had what which who whom whose when where why how that this these those it its they them
    their there then than so such can could should would may might must will shall not no nor only own same
    too very just about into over after before under again further once here all any both each few more most
    other some i me my we our you your he him his she her also one ones use used using tell say said
    please explain describe give define summarise summarize""".split()
)
# Words that frame a question rather than name what it is about ("How does X work?").
QUESTION_FRAME_WORDS = frozenset(
    """work works working happen happens mean means meaning need needs get gets make makes made way ways best
    good better much many long often kind kinds type types thing things know find show shows example examples
    difference differ between important matter matters purpose reason reasons called call name named list
    main common usual usually typical typically recommend recommended possible like look looks big small
    value values number amount""".split()
)
MAX_SENTENCE_WORDS = 60

# Questions about the book itself, which its front page answers: "What is this book about?", "Who is the guide
# for?", "What does this site cover?", "What will I learn?", "Give me an overview of the book".
_WORK = r"(?:book|guide|handbook|manual|site|website|documentation|docs|tutorial|course)"
_ABOUT_THE_BOOK = re.compile(
    rf"""(?:
        what(?:'s|\s+is)\s+(?:this|the)\s+{_WORK}\s+(?:about|for|on)
      | what\s+(?:does|do)\s+(?:this|the)\s+{_WORK}\s+(?:cover|teach|explain|contain|discuss|say)(?:\s+about)?
      | what\s+(?:topics|subjects)\s+(?:does|do|are)\s+(?:this|the)\s+{_WORK}(?:\s+cover)?
      | who\s+is\s+(?:this|the)\s+{_WORK}\s+(?:for|aimed\s+at|written\s+for)
      | what\s+(?:will|can|do)\s+i\s+learn(?:\s+(?:here|from\s+(?:this|the)\s+{_WORK}))?
      | (?:(?:give\s+me|can\s+you\s+give\s+me)\s+)?an?\s+(?:overview|summary)\s+of\s+(?:this|the)\s+{_WORK}
      | summari[sz]e\s+(?:this|the)\s+{_WORK}
    )""",
    re.IGNORECASE | re.VERBOSE,
)

# One stemmer per thread: a Snowball stemmer keeps the word it works on in itself, so worker threads sharing one
# mix their words up (an IndexError, or a wrong stem that the cache below would keep for the process's life).
_stemmers = threading.local()


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball (Porter 2) stem of a lower-case word, spelt the American way: "colours" and "colors" are one
    word to the answerer and the evidence gate, as they are to search."""
    stemmer = getattr(_stemmers, "english", None)
    if stemmer is None:
        stemmer = _stemmers.english = snowballstemmer.stemmer("english")
    return stemmer.stemWord(american_spelling(word))


# Where a compound word (snake_case, kebab-case, camelCase) splits into the words it is made of.
_COMPOUND_JOINS = re.compile(r"[_\-]+|(?<=[a-z])(?=[A-Z])")


def with_parts(word: str) -> list[str]:
    """The word, then its parts if it is a compound: ``CHAT_SESSION_TTL_SECONDS``, ``thread-safe`` and
    ``maxTokens`` also stand for the words they join (full-text search indexes a hyphenated word's parts too), so
    a question about "session TTL" or "thread safe" finds them. Parts under three letters are dropped: "Wi-Fi"
    is no "wi" and "fi", and "user_id" adds "user" alone."""
    # String methods first: most words are plain, and this runs for every word of every passage a question reads.
    if "-" not in word and "_" not in word and (word.islower() or word.isupper() or word.istitle()):
        return [word]
    parts = [part for part in _COMPOUND_JOINS.split(word) if len(part) > 2]
    return [word, *parts] if len(parts) > 1 or (parts and parts[0] != word) else [word]


def content_words(text: str) -> list[str]:
    """Lower-cased, stemmed words that carry meaning (a compound word and its parts)."""
    return [
        stem(lower)
        for word in _WORD.findall(text)
        for part in with_parts(word)
        if (lower := part.lower()) not in STOPWORDS
    ]


_NUMBERISH = re.compile(r"\d[\d.,]*(st|nd|rd|th|s)?|\d[\d.,]*-\w+", re.IGNORECASE)


def _unaccented(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def fold(text: str) -> str:
    """Lower case without accents, so 'Céloron' and 'Celoron' are one word."""
    return _unaccented(text.lower())


def is_model_number(raw: str) -> bool:
    """A product or part name such as BMP390 or AS3935: letters and digits in one word."""
    return (
        len(raw) >= 4
        and any(ch.isdigit() for ch in raw)
        and any(ch.isalpha() for ch in raw)
        and not (_NUMBERISH.fullmatch(raw))
    )


def _focus_tokens(question: str) -> Iterator[tuple[int, str, str]]:
    """(position, word as written, folded stem) of each word of a question that is not framing or a stopword."""
    for position, match in enumerate(_RAW_WORD.finditer(question)):
        raw = match.group(0).strip("'-")
        lower = raw.lower()
        if not raw or lower in STOPWORDS or lower in QUESTION_FRAME_WORDS or len(lower) < 2:
            continue
        yield position, raw, stem(fold(raw))


def focus_terms(question: str) -> tuple[set[str], set[str], set[str]]:
    """(focus, names, model numbers) of a question, as folded stems.

    Focus terms are the content words that are not question framing. Names are capitalised inside the sentence
    or written in capitals (places, products, people); model numbers mix letters and digits. Years, counts and
    two-letter abbreviations are neither: passages often write them differently.
    """
    focus: set[str] = set()
    names: set[str] = set()
    models: set[str] = set()
    for position, raw, stemmed in _focus_tokens(question):
        focus.add(stemmed)
        if is_model_number(raw):
            models.add(stemmed)
        elif (
            not any(ch.isdigit() for ch in raw) and len(raw) >= 3 and (raw.isupper() or (position and raw[0].isupper()))
        ):
            names.add(stemmed)
    return focus, names, models


def focus_words(question: str) -> dict[str, str]:
    """The question's focus terms that are not bare numbers, as {folded stem: the first word, lower-cased}."""
    words: dict[str, str] = {}
    for _, raw, stemmed in _focus_tokens(question):
        if not raw.isdigit():
            words.setdefault(stemmed, raw.lower())
    return words


# A token written as code: a command-line option (--prune, -v), a path or endpoint (/readyz, /api/chat/), a file
# name (manage.py, docusaurus.config.js: a lower-case extension, so "Ph.D" is none), a snake_case or a camelCase
# name. Hyphenated words (thread-safe) are prose.
_CODE_TERM = re.compile(
    r"--?[A-Za-z][\w-]*|/[\w.-]*[A-Za-z][\w./-]*|[A-Za-z][\w-]+(?:\.[a-z][\w-]*)+|\w*[A-Za-z0-9]_\w+|[a-z][a-z0-9]*[A-Z]\w*"
)


def code_terms(question: str) -> set[str]:
    """The question's tokens written as code, lower-cased: a passage names the same thing only with the same
    characters, and the embedding model reads such tokens poorly."""
    # A name longer than any setting or path is no code term, and never costs the pattern a long search.
    return {token.lower() for token in tokens_of(question) if len(token) <= 100 and _CODE_TERM.fullmatch(token)}


def is_book_vocabulary(term: str) -> bool:
    """Whether a code term is an option, a path or a snake_case name: words of the book's own software, which a
    reader takes from it. A file or product name (notes.md, iPad) may be the reader's own."""
    return term.startswith(("-", "/")) or "_" in term


def stems_of(text: str) -> set[str]:
    """Every word's folded stem (stopwords included; a compound word and its parts), for presence checks."""
    # Accents go before the words are found (once per text); case only after, as it marks camelCase parts.
    return {
        stem(folded)
        for word in _RAW_WORD.findall(_unaccented(text))
        for part in with_parts(word)
        if (folded := part.lower().strip("'-"))
    }


def mentioned(term: str, present: set[str]) -> bool:
    """Whether a term, or a near spelling of a long one (Kelven/Kelvin), is among the present stems."""
    if term in present:
        return True
    if len(term) < 5:
        return False
    letters = Counter(term)
    for word in present:
        if abs(len(word) - len(term)) > 2:
            continue
        # SequenceMatcher's ratio is at most its quick_ratio (shared letters, computed here from one Counter of
        # the term): that cheap bound rules out most words before the real comparison.
        shared = sum((letters & Counter(word)).values())
        if 2 * shared / (len(term) + len(word)) >= 0.8 and SequenceMatcher(None, term, word).ratio() >= 0.8:
            return True
    return False


def spelt_words(text: str) -> list[str]:
    """The text's words, lower-cased and spelt the American way, in order (for comparing runs of words)."""
    return [american_spelling(word.lower()) for word in _RAW_WORD.findall(text)]


def phrases(question: str, *, size: int = 2) -> list[str]:
    """Runs of ``size`` or more consecutive content words of the question, as lower-case text (each word spelt
    the American way, as ``spelt_words`` gives a passage's)."""
    words = spelt_words(question)
    runs: list[list[str]] = [[]]
    for word in words:
        if word in STOPWORDS or word in QUESTION_FRAME_WORDS:
            runs.append([])
        else:
            runs[-1].append(word)
    return [" ".join(run) for run in runs if len(run) >= size]


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences in a text (no downloads: regex rules, not nltk).

    Over-long spans (lists without full stops) are cut at line breaks.
    """
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    spans = [piece for begin, end in spans for piece in _split_long(text, begin, end)]
    out = []
    for begin, end in spans:
        chunk = text[begin:end]
        stripped = chunk.strip().lstrip("#*-• ").strip()
        if len(stripped) >= 3:
            offset = begin + chunk.index(stripped)
            out.append((offset, offset + len(stripped)))
    return out


def _split_long(text: str, begin: int, end: int) -> list[tuple[int, int]]:
    if len(text[begin:end].split()) <= MAX_SENTENCE_WORDS:
        return [(begin, end)]
    pieces, start = [], begin
    for match in re.finditer(r"\n", text[begin:end]):
        cut = begin + match.start()
        if len(text[start:cut].split()) >= 8:
            pieces.append((start, cut))
            start = cut + 1
    pieces.append((start, end))
    return pieces


# Only markup that reader text never holds literally: ingestion removes a code span's backticks, so its
# __version__, *.example.com or "*" reaches here as written and must stay so (underscore and single-asterisk
# emphasis are left alone; a chunk that still has them reads a little marked up, never wrong).
_MARKUP = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images: their alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links: their text
    (re.compile(r"(?<![\w*])\*\*(?=\S)([^*]+?)(?<=\S)\*\*(?![\w*])"), r"\1"),  # **strong**, not f(*a, **kw)
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE), ""),
]


# Every pattern above needs one of these: text without any (most of it, as ingestion writes reader text) is plain.
_MARKUP_CHARS = re.compile(r"[\[*`#]")


def plain(text: str) -> str:
    """Text without Markdown syntax (for chunks indexed before ingestion produced reader text)."""
    if _MARKUP_CHARS.search(text):
        for pattern, replacement in _MARKUP:
            text = pattern.sub(replacement, text)
    return " ".join(text.split())


# What CommonMark reads as markup inside a line of prose: a backslash, code spans, emphasis, links, autolinks and
# HTML. An underscore only at a word's edge ("__version__"): inside a word (snake_case) it is never emphasis.
_MARKDOWN_SPECIAL = re.compile(r"[\\`*\[\]<]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def markdown_literal(text: str) -> str:
    """Text that Markdown shows as written: "*.example.com" is no emphasis, "__version__" no bold, "[1]" in the
    book's text no citation (backslash escapes, which every CommonMark renderer reads)."""
    return _MARKDOWN_SPECIAL.sub(lambda match: "\\" + match.group(0), text)


def asks_about_the_book(question: str) -> bool:
    """Whether the whole question asks what the book is about, whom it is for or what it covers."""
    return bool(_ABOUT_THE_BOOK.fullmatch(question.strip().rstrip("?.! ").strip()))


_HOW_TO = re.compile(
    r"how (?:do|can|should|would|could) (?:i|we|you|one)\b|how to\b|what(?:'s| is) the (?:command|way) to\b", re.I
)


def asks_how_to(question: str) -> bool:
    """Whether the question asks how to do something (a command, a procedure), not what something is."""
    return bool(_HOW_TO.match(question.strip()))


# "How long", "how many", "how far": the word after "how" asks for a measure, which the answer gives as a number.
_HOW_MEASURE = re.compile(r"\s*how\s+([a-z]+)\b", re.I)
MEASURE_WORDS = frozenset(
    "long many much often far tall deep high wide big large small heavy old fast thick early late soon".split()
)


# The measures a number answers: not those often answered in words ("how old" may be "Victorian", "how early"
# "before dawn", "how small" "pocket-sized").
_NUMBER_MEASURES = MEASURE_WORDS - frozenset("old early late soon small".split())
# "In what year", "what percentage", "what temperature", "what status code": the question names a quantity, or a
# code written in digits (an HTTP status, an exit code, a port).
_QUANTITY = re.compile(
    r"\s*(?:in\s+|by\s+|on\s+)?(?:what|which)\s+(?:year|percentage|percent|proportion|fraction|number|size|"
    r"temperature|voltage|distance|speed|weight|height|length|depth|age|price|cost|"
    r"(?:http\s+)?status\s+code|exit\s+code|port)\b",
    re.I,
)
# Digits only: number words are mostly determiners ("two buckets", "one of the…"), not the amount asked for
# (bench/number_answers.py: with them 307 of 400, without 308).
_DIGIT = re.compile(r"\d")


def asks_for_number(question: str) -> bool:
    """Whether the answer is a number: "How many…", "How long…", "In what year…"."""
    measure = _HOW_MEASURE.match(question)
    return bool(measure and measure.group(1).lower() in _NUMBER_MEASURES) or bool(_QUANTITY.match(question))


def states_number(text: str) -> bool:
    """Whether a text gives a number in digits."""
    return _DIGIT.search(text) is not None


# "What are the…", "Which were…", "What advantages does…", "List…", "Name the…", "What kinds of…", "…are
# there?": the answer is several things, as a list gives them. (A plural is a word ending in s, but not in ss,
# is or us: "What class does…", "What status does…" ask for one.)
_SEVERAL = re.compile(
    r"\s*(?:(?:what|which)(?:'re|\s+are|\s+were)\b|list\b|name\s+(?:the|all|some|a few)\b|"
    r"what\s+(?:kinds?|types?|sorts?)\s+of\b|(?:what|which)\s+[a-z-]*[a-hj-rtv-z]s\s+"
    r"(?:do|does|did|can|could|should|will|would|are|were)\b|.*\bare\s+there\b)",
    re.I,
)


def asks_for_list(question: str) -> bool:
    """Whether the answer is several things: "What are the key characteristics…?", "List the steps…"."""
    return bool(_SEVERAL.match(question))


# "What is grey box testing?", "What are nodes?", "What is meant by refactoring?", "What does polymorphism mean?",
# "What does the evidence check do?", "Define encapsulation": the question names a term to define (what a thing
# does is what its definition says: "The nl2br extension will cause newlines to be treated as hard breaks").
_DEFINITION_ASKED = re.compile(
    r"\s*(?:(?:what|who)(?:'s|\s+is|\s+are|\s+was|\s+were)\s+(?:meant\s+by\s+)?(?P<term>[^?]+?)"
    r"|what\s+(?:does|do)\s+(?P<meant>[^?]+?)\s+(?:mean|do)|define\s+(?P<defined>[^?]+?))\s*[?.!]*\s*$",
    re.I,
)
# "What is the difference between black box and white box testing?", "How does X differ from Y?", "Compare X
# and Y", "X vs Y": two terms, each defined where it is introduced.
_COMPARISON_ASKED = re.compile(
    r"\s*(?:what(?:'s|\s+is|\s+are)\s+the\s+(?:main\s+|key\s+)?differences?\s+between\s+(?P<a>.+?)\s+and\s+"
    r"(?P<b>[^?]+?)|how\s+(?:does|do|is|are)\s+(?P<c>.+?)\s+differ(?:ent)?\s+from\s+(?P<d>[^?]+?)"
    r"|compare\s+(?P<e>.+?)\s+(?:and|with|to)\s+(?P<f>[^?]+?)|(?P<g>.+?)\s+(?:vs\.?|versus)\s+(?P<h>[^?]+?))"
    r"\s*[?.!]*\s*$",
    re.I,
)
_TRAILING_PREPOSITIONS = frozenset("for about of on in to with from at by like".split())
_ARTICLE = re.compile(r"^(?:(?:a|an|the)\s+)+", re.I)


def terms_asked(question: str) -> list[str]:
    """The terms a question asks to define ("grey box testing" in "What is grey box testing?") or to tell apart
    ("black box" and "white box testing" in "What is the difference between black box and white box testing?"),
    without their articles; none when it asks for something else."""
    compared = _COMPARISON_ASKED.match(question)
    if compared is not None:
        terms = [term for term in compared.groups() if term is not None]
    elif (match := _DEFINITION_ASKED.match(question)) is not None:
        terms = [next(group for group in match.groups() if group is not None)]
        if terms[0].split()[-1].lower() in _TRAILING_PREPOSITIONS:
            return []  # "Who is this handbook for?", "What is the case made of?": no term to define
    else:
        return []
    return [term for term in (_ARTICLE.sub("", term.strip(), count=1) for term in terms) if content_words(term)]


@lru_cache(maxsize=1024)
def _term_words(term: str) -> tuple[int, tuple[str, ...]]:
    """(how many words a term is written in, its content words): read once, for every candidate piece."""
    return len(_WORD.findall(term)), tuple(content_words(term))


# A name given with its alias at the start of a text: "New-Line-to-Break (nl2br) Extension", "Python Package
# Index (PyPI)".
_ALIASED = re.compile(r"(?P<name>[^()]{1,80}?)\s*\((?P<alias>[^()]{1,40})\)")


def defines(text: str, terms: list[str]) -> bool:
    """Whether a text starts with one of the terms, as a definition does: "Grey box testing combines…", "A node
    is…", "**Encapsulation**: keeping state private" (not "When to use grey box testing"). A name given with its
    alias is either: "The New-Line-to-Break (`nl2br`) Extension will…" defines the nl2br extension."""
    wanted = [_term_words(term) for term in terms]
    start = _ARTICLE.sub("", plain(text).lstrip(), count=1)
    starts = [start]
    if aliased := _ALIASED.match(start):
        rest = start[aliased.end() :]
        starts += [aliased["alias"] + rest, aliased["name"] + rest]
    # Only the words a term could cover are read: the answerer asks this of every candidate piece.
    longest = max((count for count, _ in wanted), default=0)
    for opening in starts:
        words = [m.group(0) for m in islice(_WORD.finditer(opening), longest)]
        if any(tuple(content_words(" ".join(words[:count]))) == term_words for count, term_words in wanted):
            return True
    return False


# "What does LIDAR stand for?", "What is GPIO short for?", "What does the acronym SLAM mean?": the answer spells
# the abbreviation out.
_ABBREVIATION_ASKED = re.compile(
    r"\s*(?i:what\s+(?:does|do|is|are)\s+(?:the\s+(?:acronym|abbreviation)\s+)?)"
    r"([A-Z][A-Za-z0-9]*[A-Z][A-Za-z0-9]*)(?i:\s+(?:stand\s+for|short\s+for|mean))\b"
)
# An abbreviation asked about as a term ("What is TTFB?", "What are APIs?"): two capitals at least.
_ABBREVIATION = re.compile(r"(?P<name>[A-Z][A-Za-z0-9]*[A-Z][A-Za-z0-9]*?)s?")


def abbreviation_asked(question: str) -> str:
    """The abbreviation a question asks to spell out ("LIDAR" in "What does LIDAR stand for?", "TTFB" in "What is
    TTFB?", "API" in "What are APIs?"); '' for none."""
    match = _ABBREVIATION_ASKED.match(question)
    if match:
        return match.group(1)
    terms = terms_asked(question)
    named = _ABBREVIATION.fullmatch(terms[0]) if len(terms) == 1 else None
    return named.group("name") if named else ""


def spells_out(text: str, abbreviation: str) -> bool:
    """Whether a text spells the abbreviation out: "Light Detection and Ranging (LIDAR)", "LIDAR (Light Detection
    and Ranging)", "LIDAR stands for …"."""
    name = re.escape(abbreviation)
    words = r"[A-Z][\w-]*(?:\s+(?:and|of|for|the|to|in|on|[A-Z][\w-]*))+"
    return bool(
        re.search(rf"{words}\s+\({name}s?\)", text)
        or re.search(rf"\b{name}s?\s+\({words}\)", text)
        or re.search(rf"\b{name}\s+(?:stands|is\s+short)\s+for\b", text)
    )


_AIMS = re.compile(r"\b(learn\w*|objectives?|outcomes?|goals?|aims?|teach\w*|cover(s|ed)?)\b", re.I)


def asks_about_aims(question: str) -> bool:
    """Whether the question asks what a chapter teaches: "What will I learn?", "What are the objectives?"."""
    return bool(_AIMS.search(question))


def answer_words(question: str) -> set[str]:
    """The question's content words an answer sentence is expected to share: all but the word that asks for a
    measure ("long" in "How long can a cable be?": the answer says "under one metre", not "long"), and of a
    comparison only the terms compared."""
    compared = _COMPARISON_ASKED.match(question)
    if compared is not None:
        # "What is the difference between TCP and UDP?" is answered by what each is; "difference" and "between"
        # are the question's framing, and a passage about transfers "between servers" is no closer.
        return {word for term in compared.groups() if term is not None for word in content_words(term)}
    words = set(content_words(question))
    measure = _HOW_MEASURE.match(question)
    if measure and measure.group(1).lower() in MEASURE_WORDS:
        words.discard(stem(measure.group(1).lower()))
    return words
