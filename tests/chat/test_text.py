"""Text helpers shared by the worker threads."""

import sys
import threading

import pytest
import snowballstemmer

from chat import text


def test_stems_are_right_when_many_threads_stem_at_once():
    """A Snowball stemmer keeps the word it works on in itself: one shared by the worker pool's threads mixed
    their words up (an IndexError under a burst of readers, or a wrong stem cached for the process's life)."""
    bases = ["generaliz", "connect", "happi", "argu", "nation", "relat", "condition", "electr", "adjust", "format"]
    suffixes = ["ation", "ations", "ing", "ed", "ness", "ional", "ization", "izations", "ively", "fulness", "ers"]
    words = [base + suffix + "s" * n for base in bases for suffix in suffixes for n in range(4)]
    reference = snowballstemmer.stemmer("english")
    expected = {word: reference.stemWord(word) for word in words}
    failures: list[BaseException] = []
    results: list[dict[str, str]] = []

    def stem_all(order: list[str]) -> None:
        try:
            results.append({word: text.stem(word) for word in order})
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, as a loaded server does now and then
    try:
        for _ in range(5):
            text.stem.cache_clear()
            threads = [threading.Thread(target=stem_all, args=(words[i:] + words[:i],)) for i in range(0, 40, 5)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        sys.setswitchinterval(interval)
        text.stem.cache_clear()
    assert not failures
    assert all(result == expected for result in results)


@pytest.mark.parametrize(
    ("question", "about_the_book"),
    [
        ("What is this book about?", True),
        ("what's the guide for", True),
        ("Who is this handbook for?", True),
        ("What does this site cover?", True),
        ("What will I learn?", True),
        ("Give me an overview of the book.", True),
        ("Summarise the documentation", True),
        ("What is the dew point?", False),
        ("What is this sensor about?", False),
        ("What is this book about tomatoes?", False),  # a question of its own, searched as usual
        ("How do I add a book?", False),
    ],
)
def test_questions_about_the_book_itself(question, about_the_book):
    assert text.asks_about_the_book(question) is about_the_book


@pytest.mark.parametrize(
    ("question", "how_to"),
    [
        ("How do I send a reading to the server?", True),
        ("how can we flash the board", True),
        ("How to install the logger on macOS?", True),
        ("What is the command to restart it?", True),
        ("How does the rain gauge work?", False),  # how something works: an explanation, not a procedure
        ("How much does the station cost?", False),
        ("What is the dew point?", False),
        ("Where do I find the logs? How do I read them?", False),  # only a question that starts so
    ],
)
def test_questions_that_ask_how_to_do_something(question, how_to):
    assert text.asks_how_to(question) is how_to


def test_british_and_american_spellings_are_one_word():
    assert text.content_words("the colours of the catalogue") == text.content_words("the colors of the catalog")
    assert text.focus_terms("Why is the widget's behavior grey?")[0] == {"widget", "behavior", "gray"}


@pytest.mark.parametrize(
    ("word", "parts"),
    [
        ("CHAT_SESSION_TTL_SECONDS", ["CHAT_SESSION_TTL_SECONDS", "CHAT", "SESSION", "TTL", "SECONDS"]),
        ("thread-safe", ["thread-safe", "thread", "safe"]),
        ("maxTokens", ["maxTokens", "max", "Tokens"]),
        ("e-mail", ["e-mail", "mail"]),  # parts under three letters are no words
        ("Wi-Fi", ["Wi-Fi"]),
        ("user_id", ["user_id", "user"]),
        ("BME280", ["BME280"]),  # a model number is one name
        ("Session", ["Session"]),
        ("HTTP", ["HTTP"]),
    ],
)
def test_compound_words_stand_for_their_parts_too(word, parts):
    assert text.with_parts(word) == parts


def test_the_parts_of_compound_words_are_words_of_the_text():
    assert {"session", "ttl", "thread", "safe", "max", "token"} <= set(
        text.content_words("CHAT_SESSION_TTL_SECONDS is thread-safe; see maxTokens")
    )
    assert {"chat_session_ttl_second", "ttl", "thread-saf", "safe", "maxtoken", "token"} <= text.stems_of(
        "CHAT_SESSION_TTL_SECONDS is thread-safe; see maxTokens"
    )


@pytest.mark.parametrize(
    ("question", "terms"),
    [
        ("What does ingest --prune do?", {"--prune"}),
        ("What does /readyz check?", {"/readyz"}),
        ("Where is docusaurus.config.js, and what is manage.py for?", {"docusaurus.config.js", "manage.py"}),
        ("Explain `CHAT_TOP_K`.", {"chat_top_k"}),
        ("How do I set maxTokens?", {"maxtokens"}),
        ("Is it thread-safe, e.g. on a Ph.D. server in the U.S.?", set()),  # prose
        ("Is it open 24/7, in km/h, and/or version 1.22?", set()),
        ("What is /" + "a" * 3000 + "?", set()),  # longer than any name
    ],
)
def test_tokens_written_as_code(question, terms):
    assert text.code_terms(question) == terms


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("How long can a cable be?", {"cabl"}),
        ("How many turns does a session keep?", {"turn", "session", "keep"}),
        ("How do I keep it long?", {"keep", "long"}),  # not a measure asked for
        ("Why is the cable long?", {"cabl", "long"}),
    ],
)
def test_answer_words_leave_out_the_measure_a_question_asks_for(question, words):
    assert text.answer_words(question) == words


@pytest.mark.parametrize(
    ("question", "number"),
    [
        ("How many turns does a session keep?", True),
        ("How long does the fan last?", True),
        ("how big are the passages?", True),
        ("In what year was the bridge opened?", True),
        ("What temperature should the ice point read?", True),
        ("What status code does RequestBodyLimitMiddleware return for an oversized body?", True),
        ("Which exit code means the check failed?", True),
        ("On which port does the server listen?", True),
        ("What status does a document have after ingestion?", False),  # "ready", a word
        ("How old is the castle?", False),  # "Victorian" answers it as well as a number
        ("How do I keep it long?", False),
        ("What is the default chat model?", False),
    ],
)
def test_questions_that_ask_for_a_number(question, number):
    assert text.asks_for_number(question) is number


@pytest.mark.parametrize(
    ("question", "several"),
    [
        ("What are the key characteristics of Physical AI systems?", True),
        ("Which sensors were tested?", True),
        ("What advantages does Physical AI offer?", True),
        ("Which parts should I buy?", True),
        ("List the steps of a calibration.", True),
        ("Name the parts of the station.", True),
        ("What kinds of sensors exist?", True),
        ("What options are there?", True),
        ("What is embodiment?", False),
        ("What class does the sensor belong to?", False),  # a word ending in ss, is or us is no plural
        ("What status does the reply have?", False),
        ("What analysis does it run?", False),
        ("How does it work?", False),
    ],
)
def test_questions_that_ask_for_several_things(question, several):
    assert text.asks_for_list(question) is several


@pytest.mark.parametrize(
    ("question", "aims"),
    [
        ("What will I learn in chapter 1?", True),
        ("What are the learning objectives?", True),
        ("What does this chapter cover?", True),
        ("Define Physical AI", False),
        ("How does LIDAR work?", False),
    ],
)
def test_questions_about_what_a_chapter_teaches(question, aims):
    assert text.asks_about_aims(question) is aims


@pytest.mark.parametrize(
    ("question", "abbreviation"),
    [
        ("What does LIDAR stand for?", "LIDAR"),
        ("what is GPIO short for?", "GPIO"),
        ("What does the acronym SLAM mean?", "SLAM"),
        ("What is TTFB?", "TTFB"),
        ("What are APIs?", "API"),
        ("What does it stand for?", ""),
        ("What does the word mean?", ""),
        ("What is Python?", ""),
        ("What is the difference between TCP and UDP?", ""),
    ],
)
def test_questions_that_ask_to_spell_an_abbreviation_out(question, abbreviation):
    assert text.abbreviation_asked(question) == abbreviation


@pytest.mark.parametrize(
    ("passage", "spelt"),
    [
        ("Light Detection and Ranging (LIDAR) sensors measure distance.", True),
        ("A LIDAR (Light Detection and Ranging) measures distance.", True),
        ("LIDAR stands for light detection and ranging.", True),
        ("LIDAR sensors emit laser pulses.", False),
        ("Sensors (LIDAR) measure distance.", False),  # one word is no spelling out
    ],
)
def test_a_passage_that_spells_an_abbreviation_out(passage, spelt):
    assert text.spells_out(passage, "LIDAR") is spelt


@pytest.mark.parametrize(
    ("question", "terms"),
    [
        ("What is grey box testing?", ["grey box testing"]),
        ("what's a node", ["node"]),
        ("What is the grade calculator?", ["grade calculator"]),
        ("What are design patterns?", ["design patterns"]),
        ("What is meant by encapsulation?", ["encapsulation"]),
        ("What does polymorphism mean?", ["polymorphism"]),
        ("Define refactoring.", ["refactoring"]),
        ("Who was Ada Lovelace?", ["Ada Lovelace"]),
        ("What is the difference between black box and white box testing?", ["black box", "white box testing"]),
        ("How does a class differ from an object?", ["class", "object"]),
        ("Compare stacks with queues", ["stacks", "queues"]),
        ("TCP vs UDP?", ["TCP", "UDP"]),
        ("How does grey box testing work?", []),
        ("Why is testing important?", []),
        ("What is it?", []),
        ("Who is this handbook for?", []),
        ("What is the case made of?", []),
        ("What does the evidence check do?", ["evidence check"]),
        ("What does it do?", []),
        ("What does the server do when the database is down?", []),
    ],
)
def test_questions_that_ask_what_a_term_is_or_how_two_differ(question, terms):
    assert text.terms_asked(question) == terms


@pytest.mark.parametrize(
    ("question", "passage", "defining"),
    [
        ("What is grey box testing?", "Grey box testing combines elements of black and white box testing.", True),
        ("What is a node?", "A node is a process that performs computation.", True),
        ("What are design patterns?", "**Design Patterns**: reusable solutions to common problems", True),
        ("TCP vs UDP?", "UDP sends datagrams without a connection.", True),
        ("What is grey box testing?", "The tester uses grey box testing for integration.", False),
        ("What is grey box testing?", "Characteristics of Grey Box Testing:", False),
        ("What is grey box testing?", "When to Use Grey Box Testing", False),
        ("What is the grade calculator?", "The grade calculator converts scores to letter grades.", True),
        ("What is grey box testing?", "Grey areas are hard to test.", False),
        ("Why use grey box testing?", "Grey box testing combines elements of black and white box testing.", False),
        # A name given with its alias defines either.
        ("What does the nl2br extension do?", "The New-Line-to-Break (`nl2br`) Extension will cause…", True),
        ("What is the New-Line-to-Break extension?", "The New-Line-to-Break (`nl2br`) Extension will cause…", True),
        ("What is PyPI?", "The Python Package Index (PyPI) is where packages are published.", True),
        ("What is the nl2br extension?", "Use `nl2br` (the extension's name) in the list.", False),
    ],
)
def test_a_passage_that_starts_with_the_term_defines_it(question, passage, defining):
    assert text.defines(passage, text.terms_asked(question)) is defining


def test_a_comparison_is_answered_by_the_terms_it_compares_not_by_its_framing():
    # A passage about transfers "between servers" is no closer to "the difference between TCP and UDP".
    assert text.answer_words("What is the difference between TCP and UDP?") == {"tcp", "udp"}
    assert text.answer_words("How does a class differ from an object?") == {"class", "object"}
    assert "between" in text.answer_words("What lies between the two layers?")


def test_imperative_framing_is_no_content_word():
    # "Define X", "Summarize X": the answer defines or sums up X, it does not say "define".
    assert text.content_words("Define Physical AI") == text.content_words("Physical AI")
    assert text.content_words("Summarize the challenges") == text.content_words("the challenges")


@pytest.mark.parametrize(
    ("passage", "number"),
    [
        ("It keeps 40 turns.", True),
        ("The fan runs for 8,000 hours.", True),
        ("A tip is 0.2794 mm of rain.", True),
        ("It will last for years.", False),
        ("A seesaw with two buckets tips when one fills.", False),  # number words are mostly determiners
    ],
)
def test_passages_that_give_a_number(passage, number):
    assert text.states_number(passage) is number


@pytest.mark.parametrize(
    ("chunk_text", "quoted"),
    [
        # Markdown left in chunks indexed before ingestion wrote reader text is removed.
        ("The **Zero Moment Point** is [here](x.html).", "The Zero Moment Point is here."),
        ("![A diagram](d.png) of `route()`", "A diagram of route()"),
        # Reader text keeps what a code span held: Hatch's "a variable named `__version__`", Starlette's
        # "`*.example.com` … `allowed_hosts=["*"]`", a signature with **kwargs.
        ("a variable named __version__ or VERSION", "a variable named __version__ or VERSION"),
        ('hosts such as *.example.com, or ["*"] for any', 'hosts such as *.example.com, or ["*"] for any'),
        ("call f(*args, **kwargs) then **bold** it", "call f(*args, **kwargs) then bold it"),
        ("the _private and __init__ names", "the _private and __init__ names"),
    ],
)
def test_quoted_text_loses_old_markup_but_never_what_a_code_span_held(chunk_text, quoted):
    assert text.plain(chunk_text) == quoted


@pytest.mark.parametrize(
    ("written", "markdown"),
    [
        ('*.example.com and ["*"]', '\\*.example.com and \\["\\*"\\]'),
        ("a variable named __version__", "a variable named \\_\\_version\\_\\_"),
        ("CHAT_SESSION_MAX_TURNS (40)", "CHAT_SESSION_MAX_TURNS (40)"),  # inside a word, never emphasis
        ("see [1] or <b>", "see \\[1\\] or \\<b>"),
        ("`code` and C:\\temp", "\\`code\\` and C:\\\\temp"),
    ],
)
def test_quoted_text_is_escaped_so_markdown_shows_it_as_written(written, markdown):
    assert text.markdown_literal(written) == markdown
