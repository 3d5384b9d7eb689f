"""The evidence gate: similarity weighed with exact phrases and the question's name-like terms."""

import pytest
from haystack import Document

from chat.extractive import QuoteVectors, quote_embedder
from chat.retrieval import EvidenceGate
from knowledge.embedders import shared_text_embedder

THRESHOLD = 0.325


def passage(text: str, similarity: float, section: str = "Walking > Balance") -> Document:
    return Document(content=text, meta={"similarity": similarity, "section": section, "title": "Robots"})


ZMP = passage(
    "The zero moment point is where the ground reaction force acts; keeping it inside the foot keeps "
    "a walking robot upright.",
    THRESHOLD - 0.03,
)


def admits(question: str, *documents: Document) -> bool:
    return "documents" in EvidenceGate(min_similarity=THRESHOLD).run(documents=list(documents), query=question)


def test_an_exact_phrase_admits_a_passage_just_under_the_threshold():
    assert admits("What is the Zero Moment Point?", ZMP)
    assert not admits("How do legged machines stay upright?", ZMP)  # same similarity, no phrase of the question


def test_a_name_found_in_the_top_passage_admits_it_just_under_the_threshold():
    doc = passage("The SHT45 reads within 0.1 °C after calibration.", THRESHOLD - 0.02)
    assert admits("How accurate is SHT45?", doc)


def test_far_below_the_threshold_nothing_admits():
    # (Its definition would: see the test of a piece that starts with the term asked about.)
    assert not admits("Why does the Zero Moment Point matter?", passage(ZMP.content, THRESHOLD - 0.2))


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("What are the key takeaways?", True),
        ("Key takeaways?", True),
        ("Give me the key takeaways", True),
        ("What are the takeaways?", False),  # a part of the heading is not its name
        ("What are the key takeaways about batteries?", False),  # more than the heading asks for more
        ("What is the capital of France?", False),
    ],
)
def test_a_question_that_names_the_top_passages_section_is_answered_however_far_its_meaning(question, named):
    # A "Key Takeaways" section's list resembles no question asked of it (similarity 0.12 on a real textbook).
    takeaways = passage("• Sensors see.\n• Motors act.", 0.12, section="Chapter 1 > Key Takeaways")
    assert admits(question, takeaways) is named
    # Only the top passage's own heading counts, never a passage further down (one whose list the heading
    # introduces defines what it names, as any passage retrieved may: see the definitions below).
    later = passage("These matter most:\n\n• Sensors see.", 0.12, section="Chapter 1 > Key Takeaways")
    assert not admits(question, passage("Robots walk.", 0.12), later)


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("Does it work offline?", True),  # "work" frames the question, and the heading too
        ("Is it offline?", True),
        ("Does it work offline with Redis?", False),
    ],
)
def test_a_headings_words_are_read_as_a_questions_are(question, named):
    # The demo guide's "Works offline" section was 0.24 like "Does it work offline?".
    offline = passage("A fresh copy needs no API key and no network.", 0.24, section="Introduction > Works offline")
    assert admits(question, offline) is named


def test_a_passage_that_spells_out_the_abbreviation_asked_about_is_evidence_however_far_its_meaning():
    # "What is TTFB?" is 0.24 like the passage that answers it on a real textbook page: the embedding model knows
    # little of a rare abbreviation.
    spelt = passage("TTFB (Time to First Byte): server processing and the first response.", 0.24)
    assert admits("What is TTFB?", spelt)
    assert admits("What does TTFB stand for?", spelt)
    assert not admits("What is TTFB?", passage("Measure the TTFB of each page.", 0.24))  # named, not spelt out
    assert not admits("What does TTFB stand for?", passage("Measure the TTFB of each page.", 0.24))
    assert not admits("What is DNS?", spelt)
    # Any passage retrieved counts, not the top one alone: at such similarities their order is a near tie.
    assert admits("What does TTFB stand for?", passage("Robots walk.", 0.24), spelt)
    assert not admits("What does TTFB stand for?", passage("Robots walk.", 0.24), passage("Measure TTFB.", 0.2))


def test_a_passage_with_a_piece_that_starts_with_the_term_asked_about_is_evidence_however_far_its_meaning():
    # "What is the evidence check?" is 0.18 like the demo guide's list item that says what it is.
    steps = passage(
        "How it answers:\n\n1. Retrieval. The question's nearest passages are found.\n"
        "2. Evidence check. If the best passage is not similar enough, the chatbot says so.",
        0.18,
    )
    assert admits("What is the evidence check?", steps)
    assert admits("What does evidence check mean?", steps)
    assert admits("What does the evidence check do?", steps)
    assert not admits("How is the evidence checked?", steps)  # not a term to define
    assert not admits("What is the relevance check?", steps)
    assert not admits("What is retrieval cost?", steps)  # every word of the term, not its first
    assert not admits("What is the evidence check?", passage("Run the evidence check after retrieval.", 0.18))
    # Any passage retrieved counts, not the top one alone: at such similarities their order is a near tie.
    assert admits("What is the evidence check?", passage("Robots walk.", 0.18), steps)
    assert not admits("What is the evidence check?", passage("Robots walk.", 0.18), passage("Run it.", 0.17))


def test_a_top_passage_that_writes_every_word_asked_about_names_included_is_evidence_further_under_the_threshold():
    # "Can I use it with Ollama?" is 0.26 like the guide's line that names Ollama: the model does not know the name.
    text = "OPENAI_BASE_URL: point at any OpenAI-compatible server, such as Ollama, vLLM or llama.cpp."
    line = passage(text, THRESHOLD - 0.07)
    assert admits("Can I use it with Ollama?", line)
    assert admits("Does it work with Ollama or vLLM?", line)
    assert not admits("Can I use it with LocalAI?", line)  # a name it does not write
    assert not admits("Does Ollama run on Windows?", line)  # words asked about that it does not write
    assert not admits("Can I point it at any server?", line)  # every word, but no name: the similarity decides
    assert not admits("Can I use it with Ollama?", passage("Robots walk.", THRESHOLD - 0.07), line)  # the top one
    assert not admits("Can I use it with Ollama?", passage(text, THRESHOLD - 0.15))  # but not however far


def test_a_headings_number_is_no_part_of_its_name():
    embodiment = passage("A body shapes what a robot can sense.", 0.12, section="Key characteristics > 1. Embodiment")
    assert admits("Define embodiment", embodiment)
    assert admits("Embodiment?", passage(embodiment.content, 0.12, section="Key characteristics > 2.3 Embodiment"))


@pytest.mark.parametrize(
    ("question", "similarity"),
    [
        ("What is the accuracy of the BMP390 pressure sensor?", 0.7),  # a model number the passages never name
        ("How tall is the Atlas robot?", 0.5),  # a name the passages never mention
    ],
)
def test_near_topic_questions_about_absent_names_are_declined(question, similarity):
    doc = passage("The BME280 pressure sensor has an absolute accuracy of 1 hPa; robots are tall.", similarity)
    assert not admits(question, doc)


def test_names_that_are_present_keep_the_passage():
    doc = passage("The BME280 pressure sensor has an absolute accuracy of 1 hPa.", 0.5)
    assert admits("What is the accuracy of the BME280 pressure sensor?", doc)


def test_moderate_similarity_with_most_focus_terms_absent_is_declined():
    doc = passage("Clean the rain gauge funnel every month in autumn.", 0.4)
    assert not admits("How do weather radars detect hail?", doc)
    assert admits("How often should the rain gauge funnel be cleaned?", doc)


def test_a_question_none_of_whose_words_the_passages_hold_needs_more_similarity():
    # On the garden book, "What fertiliser do tomatoes need?" came 0.455 close to its glossary's green manure
    # ("keeps … the soil's nutrients"): a neighbouring topic, in none of the book's words.
    doc = passage("Green manure: a fast crop such as clover, dug back in; it keeps the soil's nutrients.", 0.46)
    assert not admits("What fertiliser do tomatoes need?", doc)
    assert admits("What fertiliser do tomatoes need?", passage(doc.content, 0.5))
    assert admits("What is green manure for?", doc)  # its words are the passage's
    assert admits("What fertiliser do clover crops need?", doc)  # one of two words is enough at this similarity


def test_a_word_spelt_the_other_way_is_present():
    doc = passage("A tyre left in the sun turns grey within a year.", 0.4)
    assert admits("Why did my tire go gray?", doc)


def test_an_exact_phrase_in_the_other_spelling_admits_a_passage_just_under_the_threshold():
    doc = passage("The colour scheme follows the book's own: dark pages get a dark panel.", THRESHOLD - 0.03)
    assert admits("Which color scheme does the panel use?", doc)
    assert not admits("Which palette does the panel use?", doc)


@pytest.mark.parametrize(
    ("question", "text"),
    [
        ("What is the session TTL?", "Sessions idle for CHAT_SESSION_TTL_SECONDS are forgotten."),
        ("Is it thread safe?", "The session store is thread-safe and bounded."),
        ("How are Tokens capped?", "Set maxTokens to cap every answer's length."),
    ],
)
def test_a_name_inside_a_compound_word_is_present(question, text):
    # "TTL" is a name-like term: absent from the passage, it would decline a question the passage answers.
    assert admits(question, passage(text, 0.42))
    assert not admits(question, passage("Sessions are forgotten after a day idle.", 0.42))


PRUNE = passage(
    "--prune removes the documents that came from a file under the given folders that no longer exists.",
    THRESHOLD - 0.04,
    section="Knowledge > Bulk loading from the command line",
)


def test_a_token_written_as_code_in_the_top_passage_admits_it_just_under_the_threshold():
    # The embedding model reads "--prune" poorly: the passage that writes it is barely similar.
    assert admits("What does ingest --prune do?", PRUNE)
    assert not admits("What does ingest --verbose do?", PRUNE)
    assert not admits("What does ingest prune?", PRUNE)  # the word alone, in no phrase, is not enough


def test_a_token_written_as_code_that_no_passage_writes_declines_a_close_topic():
    doc = passage("CHAT_TOP_K: passages given to the generator (5).", 0.5, section="Configuration > Retrieval")
    assert admits("What is CHAT_TOP_K?", doc)
    assert not admits("What is CHAT_TOP_N?", doc)
    assert not admits("What does --top-n do to the passages?", doc)
    # A file or product name may be the reader's own: it declines nothing by being absent.
    assert admits("How many passages does the generator get from my notes.md?", doc)


def test_a_piece_of_the_top_passage_close_to_the_question_admits_it_just_under_the_threshold():
    # The garden book's "Tools you need" section is 0.29 like "Are second-hand spades worth buying?"; its
    # admonition "Buying second-hand: …" alone is 0.53 like it.
    text = (
        "Start with these tools:\n\n• a spade for digging the beds\n• a hand trowel for planting out seedlings\n"
        "• a watering can with a fine rose\n\nBuying second-hand: Old spades and forks are often better made than "
        "new ones. Check that the handle is not split."
    )
    meta = {"section": "Getting started > Tools you need", "title": "Getting started", "chunk_id": 7}
    tools = Document(content=text, meta={**meta, "similarity": THRESHOLD - 0.04})
    quotes = QuoteVectors(embedder=quote_embedder)
    reading = EvidenceGate(min_similarity=THRESHOLD, quotes=quotes)

    def gate(question: str, document: Document, gate: EvidenceGate = reading) -> bool:
        embedding = shared_text_embedder().run(text=question)["embedding"]
        return "documents" in gate.run(documents=[document], query=question, query_embedding=embedding)

    assert gate("Are second-hand spades worth buying?", tools)
    assert not gate("Are second-hand spades worth buying?", tools, EvidenceGate(min_similarity=THRESHOLD))
    # A question next to the passage's topic has no piece that close; nor is a passage far under admitted.
    assert not gate("How do I prune apple trees?", tools)
    far = Document(content=tools.content, meta={**tools.meta, "similarity": THRESHOLD - 0.1})
    assert not gate("Are second-hand spades worth buying?", far)
