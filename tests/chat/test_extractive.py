"""The offline answerer on Markdown-shaped chunk text, with the real sentence embedder."""

from collections.abc import Callable

import pytest
from haystack import Document

from chat.extractive import MAX_CODE_LINES, ExtractiveAnswerer, Quotable, quotables, render, scoring_texts
from knowledge.embedders import shared_document_embedder, shared_text_embedder


@pytest.fixture(scope="module")
def answerer() -> ExtractiveAnswerer:
    return ExtractiveAnswerer(sentence_embedder=shared_document_embedder(batch_size=4))


def answer(answerer, question: str, *documents: Document) -> str:
    embedding = shared_text_embedder().run(text=question)["embedding"]
    return answerer.run(question=question, documents=list(documents), query_embedding=embedding)["replies"][0].text


def chunk(text: str, section: str = "Robots > Specifications", *, chunk_id: int = 1) -> Document:
    return Document(content=text, meta={"section": section, "title": "Robots", "chunk_id": chunk_id})


def assert_bonus(
    answerer, doc: Document, *, bonus: str, gains: Callable[[Quotable], bool], asking: str, other: str
) -> None:
    """The pieces of ``doc`` for which ``gains`` holds score the answerer's ``bonus`` more for the question
    ``asking`` than without it, and nothing more for ``other``; the rest never gain."""
    pieces = quotables([doc])
    gaining = [gains(piece) for piece in pieces]
    assert any(gaining) and not all(gaining)
    plain = ExtractiveAnswerer(sentence_embedder=answerer.sentence_embedder, **{bonus: 0.0})
    for question, gain in [(asking, getattr(answerer, bonus)), (other, 0.0)]:
        embedding = shared_text_embedder().run(text=question)["embedding"]
        with_bonus = answerer._scores(question, [doc], pieces, embedding)
        without = plain._scores(question, [doc], pieces, embedding)
        for index, gains_here in enumerate(gaining):
            assert with_bonus[index] == pytest.approx(without[index] + (gain if gains_here else 0.0))


def test_numeric_list_items_are_quoted_with_their_lead_in(answerer):
    doc = chunk("The robot has these specifications:\n\n• Height: 1.5 m\n• Weight: 89 kg\n• Battery: 3.7 kWh")
    assert answer(answerer, "How much does the robot weigh?", doc) == (
        "“The robot has these specifications: Weight: 89 kg” [1]"
    )


def test_list_items_are_joined_once_whatever_punctuation_they_end_with():
    doc = chunk("A reply holds:\n\n• answer: the text;\n• sources: the passages,\n• status: answered or not.")
    (lead, *_) = quotables([doc])
    assert render([lead]) == "“A reply holds: answer: the text; sources: the passages; status: answered or not.” [1]"


def test_a_long_lists_later_chunk_reads_its_repeated_lead_in_apart_from_its_items_and_rows():
    # Ingestion starts every later chunk of a long list or table with its lead-in, on the line before the items.
    items = chunk("The pipeline runs:\n3. Evidence check. Weak evidence is declined.\n4. Generation. It answers.")
    assert [(q.kind, q.text) for q in quotables([items])] == [
        ("lead", "The pipeline runs:"),
        ("item", "Evidence check. Weak evidence is declined."),
        ("item", "Generation. It answers."),
    ]
    rows = chunk("The robots compared:\nRobot: Spot; Weight: 32 kg\nRobot: Atlas; Weight: 89 kg")
    assert [(q.kind, q.text) for q in quotables([rows])] == [
        ("row", "Robot: Spot; Weight: 32 kg"),
        ("row", "Robot: Atlas; Weight: 89 kg"),
    ]
    # A paragraph that only ends a line with a colon stays a paragraph.
    prose = chunk("Remember this:\nthe gripper closes in 0.2 seconds.")
    assert [q.kind for q in quotables([prose])] == ["sentence"]


def test_table_rows_are_quoted_with_their_caption(answerer):
    doc = chunk("Robot: Atlas; Weight: 89 kg\nRobot: Spot; Weight: 32 kg", section="Robots > Comparison")
    assert answer(answerer, "How heavy is Spot?", doc).startswith("“Comparison: Robot: Spot; Weight: 32 kg” [1]")


def test_old_pipe_tables_are_still_quotable():
    doc = chunk("| Robot | Weight |\n| --- | --- |\n| Atlas | 89 kg |")
    assert [(q.kind, q.text) for q in quotables([doc])] == [("row", "Robot: Atlas; Weight: 89 kg")]


def test_code_questions_and_exercises_are_never_quotable():
    docs = [
        chunk(
            "Run the tool.\n\n```\n# set the speed limit to 2 m/s for the test\nspeed = 2\n```\n\nWhy is speed limited?"
        ),
        chunk("Explain how the zero moment point keeps a robot upright.", section="Walking > Exercises"),
    ]
    assert [q.text for q in quotables(docs)] == ["Run the tool."]


def test_code_is_quoted_after_the_sentence_that_introduces_it(answerer):
    doc = chunk(
        "Logs grow without end.\n\nDelete old rows with a cron line such as:\n\n```\n"
        "15 3 * * * manage.py purge_feedback --older-than 90d\n```\n\nGroups left empty go too."
    )
    assert answer(answerer, "How do I delete old rows?", doc) == (
        "“Delete old rows with a cron line such as:” [1]\n\n```\n"
        "15 3 * * * manage.py purge_feedback --older-than 90d\n```"
    )
    # The code is never a piece of its own, and what follows it is no lead-in's.
    assert [(q.kind, q.text) for q in quotables([doc])] == [
        ("sentence", "Logs grow without end."),
        ("lead", "Delete old rows with a cron line such as:"),
        ("sentence", "Groups left empty go too."),
    ]


def test_quoted_code_is_cut_when_long_and_fenced_past_its_own_backticks():
    lines = [f"step_{n}()" for n in range(MAX_CODE_LINES + 5)]
    (lead,) = quotables([chunk("Run these steps:\n\n```python\n" + "\n".join(lines) + "\n```")])
    assert lead.code.split("\n") == ["```python", *lines[:MAX_CODE_LINES], "…", "```"]
    lead, after = quotables([chunk("Write the fence like this:\n\n~~~\n```\ncode\n```\n~~~\n\nThen build it.")])
    assert lead.code == "````\n```\ncode\n```\n````" and after.text == "Then build it."
    assert render([lead]) == "“Write the fence like this:” [1]\n\n````\n```\ncode\n```\n````"


def test_a_fence_closes_only_with_its_own_kind_and_length():
    doc = chunk("Run the tool.\n\n~~~\nspeed = 2\n~~~\n\nThe tool stops at the fence.")
    assert [q.text for q in quotables([doc])] == ["Run the tool.", "The tool stops at the fence."]
    doc = chunk("Run the tool:\n\n````\n```\nThis line is code.\n````\n\nThe tool stops at the fence.")
    assert [(q.kind, q.code) for q in quotables([doc])] == [
        ("lead", "````\n```\nThis line is code.\n````"),
        ("sentence", ""),
    ]


def test_code_is_quoted_with_its_language_and_title():
    doc = chunk('The server reads one file:\n\n```toml title="/etc/log.toml"\nlisten = 8080\n```')
    (lead,) = quotables([doc])
    assert render([lead]) == '“The server reads one file:” [1]\n\n```toml title="/etc/log.toml"\nlisten = 8080\n```'
    # The title counts towards what the piece is about; the fence itself does not.
    (scored,) = scoring_texts([doc], [lead])
    assert scored.endswith(': The server reads one file: toml title="/etc/log.toml"\nlisten = 8080\n')


def test_a_sentence_naming_a_setting_of_the_code_beside_it_is_quoted_with_that_line():
    doc = chunk(
        'It reads one file:\n\n```toml title="valve.toml"\nrain_sensor = "gpio17"\nmax_minutes = 20\n'
        "  [limits]\n```\n\nIt never waters for longer than max_minutes at a time. It has a rain sensor.\n\n"
        "```yaml\nexport TOKEN=abc\n- name: backyard\nstation:\n```\n\nSet TOKEN and the station name first.\n\n"
        "Nothing here names max_minutes beside code."
    )
    pieces = {q.text: q.code for q in quotables([doc])}
    assert pieces["It never waters for longer than max_minutes at a time."] == (
        '```toml title="valve.toml"\nmax_minutes = 20\n```'
    )
    assert pieces["It has a rain sensor."] == ""  # "rain_sensor" is not the words "rain sensor"
    # The next block too; a key without a value ("station:") names no setting.
    assert pieces["Set TOKEN and the station name first."] == "```yaml\nexport TOKEN=abc\n- name: backyard\n```"
    assert pieces["Nothing here names max_minutes beside code."] == ""
    # In another chunk, the same block ids' neighbours are not beside it.
    other = chunk("It never waters for longer than max_minutes at a time.")
    pieces = quotables([chunk("```toml\nmax_minutes = 20\n```"), other])
    assert [q.code for q in pieces if q.kind == "sentence"] == [""]


def test_a_quote_after_code_starts_on_a_line_of_its_own():
    lead, after = quotables([chunk("Run the tool:\n\n```\ntool --fast\n```\n\nIt stops by itself.")])
    assert render([lead, after]) == "“Run the tool:” [1]\n\n```\ntool --fast\n```\n\n“It stops by itself.” [1]"
    assert render([after, lead]) == "“It stops by itself.” [1] “Run the tool:” [1]\n\n```\ntool --fast\n```"


def test_overlapping_chunks_do_not_repeat_a_sentence(answerer):
    text = "The gripper closes in 0.2 seconds. The gripper closes in 0.2 seconds and holds 5 kg."
    docs = [chunk("The gripper closes in 0.2 seconds."), chunk("The gripper closes in 0.2 seconds.\n\nIt holds 5 kg.")]
    assert [q.text for q in quotables(docs)].count("The gripper closes in 0.2 seconds.") == 1
    assert text  # both chunks still count as sources


def test_markdown_left_in_old_chunks_is_removed_from_answers(answerer):
    doc = chunk("The **Zero Moment Point** is the point where the [ground reaction](x.html) acts.")
    assert answer(answerer, "What is the Zero Moment Point?", doc) == (
        "“The Zero Moment Point is the point where the ground reaction acts.” [1]"
    )


def test_a_how_to_question_gives_the_command_a_bonus(answerer):
    # The weather book's "How do I send a reading to the logging server?" (tests/chat/test_book_answers.py) is
    # answered with its curl command this way; a sentence sharing more of its words scored higher before.
    doc = chunk(
        "The logging server accepts readings over HTTPS at a single endpoint.\n\n"
        "Post each reading with a bearer token:\n\n```bash\ncurl -X POST https://example.org/api/readings\n```"
    )
    assert_bonus(
        answerer,
        doc,
        bonus="procedure_bonus",
        gains=lambda piece: bool(piece.code),
        asking="How do I send a reading?",
        other="What is a reading?",
    )


def test_a_how_to_question_is_answered_with_the_step_before_a_caution_about_it(answerer):
    # Starlette's thread pool section as ingestion stores it (its docs are BSD-licensed): the step and its code,
    # then a caution that repeats the question's words and reads more like it. The step is the answer.
    text = (
        "The default thread pool size is only 40 tokens. This means that only 40 threads can run at the same "
        "time. This limit is shared with other libraries: for example FastAPI also uses anyio to run sync "
        "dependencies, which also uses up thread capacity.\n\n"
        "If you need to run more threads, you can increase the number of tokens:\n\n"
        "```py\nimport anyio.to_thread\n\nlimiter = anyio.to_thread.current_default_thread_limiter()\n"
        "limiter.total_tokens = 100\n```\n\nThe above code will increase the number of tokens to 100.\n\n"
        "Increasing the number of threads may have a performance and memory impact, so be careful when doing so."
    )
    doc = Document(content=text, meta={"title": "Thread Pool", "section": "Thread Pool > Concurrency Limitations"})
    reply = answer(answerer, "How do I increase the number of threads?", doc)
    assert reply.startswith("“If you need to run more threads, you can increase the number of tokens:” [1]")
    assert "limiter.total_tokens = 100" in reply


def test_code_that_opens_its_section_is_introduced_by_its_heading_for_a_how_to_question(answerer):
    # Hatch's installation page: "## GitHub Actions", the workflow step, then a pointer to the action's own docs.
    doc = chunk(
        "```yaml\n- name: Install Hatch\n  uses: pypa/hatch@install\n```\n\n"
        "Refer to the official action for more information.",
        "Installation > GitHub Actions",
    )
    assert answer(answerer, "How do I install Hatch in GitHub Actions?", doc) == (
        "“GitHub Actions:” [1]\n\n```yaml\n- name: Install Hatch\n  uses: pypa/hatch@install\n```"
    )
    # Asked what something is or does, code alone says it only in code (Hatch's plugin reference shows each
    # option's table, under the option's name): the text answers.
    reference = chunk("```toml\n[tool.hatch.envs.<ENV_NAME>]\ndev-mode = ...\n```", "Environment plugins > dev_mode")
    overview = chunk(
        "By default, environments reflect the current state of your project on disk, by installing it in editable "
        "mode. Set dev-mode to false to install your project only when an environment is created.",
        "Environment configuration > Dev mode",
    )
    reply = answer(answerer, "What does dev-mode do?", reference, overview)
    assert "```" not in reply and "[1]" not in reply and "dev-mode to false" in reply
    # Such code is read by its heading: the guide's "Ask a question" example sends the very question asked.
    example = chunk(
        "```\ncurl -s http://127.0.0.1:8000/api/chat/ -H 'Content-Type: application/json' \\\n"
        '  -d \'{"message": "How do I add a document?"}\'\n```\n\n'
        "The reply has the answer, its numbered sources, a status and the time each stage took.",
        "Getting started > Ask a question",
    )
    steps = chunk(
        "In the admin, open Knowledge base, then Source documents, then Add. Give it a title, optionally a URL or "
        "reference used in citations, and either upload a file (.txt, .md, .html or .pdf) or paste text or "
        "Markdown.",
        "Getting started > Add a document",
    )
    assert answer(answerer, "How do I add a document?", steps, example).startswith("“In the admin, open")


def test_a_how_to_question_is_answered_with_the_step_that_ends_the_sentences_paragraph(answerer):
    # Hatch's "Skip install": the step refers back ("this step") and reads less like the question than the
    # sentence before it, or than another section's setting.
    skip = chunk(
        "By default, environments will install your project during creation. To ignore this step, set "
        "skip-install to true:\n\n```toml\n[tool.hatch.envs.lint]\nskip-install = true\n```",
        "Environment configuration > Installation > Skip install",
    )
    dev_mode = chunk(
        "Set dev-mode to false to disable this behavior and have your project installed only upon creation of a "
        "new environment.\n\n```toml\n[tool.hatch.envs.static]\ndev-mode = false\n```",
        "Environment configuration > Installation > Dev mode",
    )
    assert answer(answerer, "How do I stop an environment from installing my project?", skip, dev_mode) == (
        "“By default, environments will install your project during creation.” [1] “To ignore this step, set "
        "skip-install to true:” [1]\n\n```toml\n[tool.hatch.envs.lint]\nskip-install = true\n```"
    )
    # Asked what happens, the sentence answers alone.
    assert answer(answerer, "What do environments install during creation?", skip) == (
        "“By default, environments will install your project during creation.” [1]"
    )


def test_a_question_the_book_asks_itself_is_answered_with_the_answer_it_gives(answerer):
    # Hatch's FAQ: the answer reads little like the question (no word of it in "Not much!"), and a passage about
    # lockfiles, retrieved beside it, shares "lock".
    faq = chunk(
        "Q: What is the risk of lock-in?\n\nA: Not much! Other than the plugin system, everything uses Python's "
        "established standards by default.\n\nQ: Must one use all features?\n\nA: No, all features are optional!",
        "FAQ > Interoperability",
    )
    locking = chunk(
        "Hatch can generate lockfiles for environments. See the lockfile how-to guide for practical usage examples.",
        "Environments > Locking",
    )
    assert answer(answerer, "What is the risk of lock-in?", locking, faq) == (
        "“Not much!” [2] “Other than the plugin system, everything uses Python's established standards by default.” [2]"
    )
    assert answer(answerer, "Must one use all features?", faq) == "“No, all features are optional!” [1]"
    # Only the block after the question is its answer; a question in other words is answered as any other.
    assert quotables([faq])[2].asked == "Q: Must one use all features?"
    assert "Not much" not in answer(answerer, "How do lockfiles work?", locking, faq)


def test_a_question_asking_for_a_number_gives_the_pieces_with_one_a_bonus(answerer):
    # "How many turns…?": a sentence that repeats the question's words without a number does not answer it.
    doc = chunk(
        "The store keeps at most CHAT_SESSION_MAX_TURNS turns per session.\n\n"
        "Session settings:\n\n• CHAT_SESSION_MAX_TURNS (40)\n• SESSION_BACKEND: memory or redis"
    )
    assert_bonus(
        answerer,
        doc,
        bonus="number_bonus",
        gains=lambda piece: "(40)" in " ".join([piece.text, *piece.items]),
        asking="How many turns does a session keep?",
        other="What is a turn?",
    )


def test_quotes_escape_what_markdown_would_read_as_markup(answerer):
    # A wildcard host and a list holding "*" would be emphasis, and "[1]" a citation, in any Markdown renderer.
    doc = chunk('Allow every subdomain with *.example.com, or every host with ["*"], as RFC [1] says.')
    reply = answer(answerer, "How do I allow every subdomain?", doc)
    assert reply == (
        '“Allow every subdomain with \\*.example.com, or every host with \\["\\*"\\], as RFC \\[1\\] says.” [1]'
    )


def test_a_question_asking_for_a_status_code_is_answered_with_the_sentence_that_gives_it(answerer):
    # Starlette's middleware page: the sentences about the limit read more like the question than the 413 one.
    doc = chunk(
        "Limits the total size of incoming HTTP request bodies. The limit applies to the raw body bytes, including "
        "multipart file data and multipart encoding overhead. Requests that exceed the limit receive a 413 "
        "Content Too Large response.\n\n```python\nmiddleware = [\n    Middleware(RequestBodyLimitMiddleware, "
        "max_body_size=10 * 1024 * 1024)\n]\n```\n\nThe following argument is supported:\n\n"
        "• max_body_size - The non-negative maximum request body size in bytes.\n\n"
        "The middleware uses Content-Length to reject an oversized body before reading it when possible, and "
        "always counts the body bytes received from the ASGI server. This also supports requests without "
        "Content-Length and prevents an understated header from bypassing the limit.",
        section="Middleware > RequestBodyLimitMiddleware",
    )
    reply = answer(answerer, "What status code does RequestBodyLimitMiddleware return for an oversized body?", doc)
    assert reply.startswith("“Requests that exceed the limit receive a 413")


def test_a_sections_outline_is_quoted_whole_never_one_heading_alone(answerer):
    # Ingestion gives a section made of subsections their headings as a list, introduced by its own heading.
    outline = chunk(
        "Key Characteristics:\n\n• 1. Embodiment\n• 2. Real-Time Operation\n• 3. Uncertainty Management",
        section="Physical AI > Key Characteristics",
    )
    pieces = quotables([outline])
    assert [(p.kind, p.items) for p in pieces] == [
        ("lead", ("1. Embodiment", "2. Real-Time Operation", "3. Uncertainty Management"))
    ]
    # A list after a lead-in of the book's own keeps its items quotable one by one.
    listed = chunk("It has three characteristics:\n\n• Embodiment\n• Real-time operation", section="Physical AI > Key")
    assert [p.kind for p in quotables([listed])] == ["lead", "item", "item"]
    real_time = chunk(
        "Physical AI systems must operate in real time because the physical world does not pause while they think.",
        section="Physical AI > Key Characteristics > 2. Real-Time Operation",
        chunk_id=2,
    )
    assert answer(answerer, "Why must Physical AI systems operate in real time?", outline, real_time) == (
        "“Physical AI systems must operate in real time because the physical world does not pause while they "
        "think.” [2]"
    )


def test_a_list_that_opens_its_passage_is_introduced_by_its_heading(answerer):
    types = chunk(
        "• Mechanical LIDAR: rotating mirrors scan the scene\n• Solid-state LIDAR: no moving parts\n"
        "• Coherent LIDAR: frequency modulation measures velocity\n• Direct detection LIDAR: intensity only",
        section="Sensors > LIDAR > Types of LIDAR sensors",
    )
    kinds = [(p.kind, p.text) for p in quotables([types])]
    assert kinds[0] == ("lead", "Types of LIDAR sensors:") and [k for k, _ in kinds[1:]] == ["item"] * 4
    assert answer(answerer, "What are the types of LIDAR sensors?", types) == (
        "“Types of LIDAR sensors: Mechanical LIDAR: rotating mirrors scan the scene; Solid-state LIDAR: no moving "
        "parts; Coherent LIDAR: frequency modulation measures velocity; Direct detection LIDAR: intensity only” [1]"
    )
    # After a paragraph of its own, a list is the paragraph's (introduced by it only when it ends in a colon).
    after = chunk("LIDAR measures distance with light. It comes in two kinds.\n\n• Mechanical\n• Solid-state")
    assert [p.kind for p in quotables([after])] == ["sentence", "sentence", "item", "item"]


def test_a_list_quoted_whole_is_not_quoted_again_item_by_item(answerer):
    principle = chunk(
        "LIDAR works by time of flight:\n\n1. Emission: the sensor emits a laser pulse\n"
        "2. Reflection: the pulse reflects off objects\n3. Detection: the sensor detects the returning pulse",
        section="Sensors > LIDAR > Working principles",
    )
    reply = answer(answerer, "How does LIDAR work?", principle)
    assert reply.startswith("“LIDAR works by time of flight: Emission: the sensor emits a laser pulse; Reflection")
    assert reply.count("Emission") == 1


def test_learning_objectives_answer_only_what_a_chapter_teaches(answerer):
    # An objective says "Define Physical AI" in a question's own words; it answers what the chapter teaches.
    objectives = chunk(
        "By the end of this chapter, you will be able to:\n\n• Define Physical AI and explain its uses\n"
        "• Explain how LIDAR measures distance",
        section="Chapter 1 > Learning Objectives",
    )
    definition = chunk(
        "Physical AI is artificial intelligence that senses and acts in the physical world through a body.",
        section="Chapter 1 > Introduction",
        chunk_id=2,
    )
    assert answer(answerer, "Define Physical AI", objectives, definition) == (
        "“Physical AI is artificial intelligence that senses and acts in the physical world through a body.” [2]"
    )
    assert answer(answerer, "What will I learn in this chapter?", objectives, definition).startswith(
        "“By the end of this chapter, you will be able to: Define Physical AI and explain its uses"
    )
    # The same objectives after such a line, in a section of another name (an admonition in an overview).
    overview = chunk(objectives.content, section="Chapter 1 > Overview")
    assert answer(answerer, "Define Physical AI", overview, definition).endswith("[2]")


def test_a_question_asking_for_several_things_gives_a_lead_in_with_its_list_a_bonus(answerer):
    doc = chunk(
        "Physical AI systems have a physical form that interacts with the world.\n\n"
        "Key Characteristics:\n\n• Embodiment\n• Real-Time Operation\n\n"
        "Its layers:\n\n```\n| Planning |\n| Control  |\n```",
        section="Physical AI > Key Characteristics",
    )
    assert_bonus(
        answerer,
        doc,
        bonus="list_bonus",
        gains=lambda piece: piece.kind == "lead" and bool(piece.items or piece.code),
        asking="What are the key characteristics?",
        other="What is a body?",
    )


def test_a_question_about_an_abbreviation_gives_its_spelling_out_a_bonus(answerer):
    doc = chunk(
        "LIDAR operates on the principle of time of flight.\n\n"
        "Light Detection and Ranging (LIDAR) sensors measure the range of distant objects with laser light.",
        section="Sensors > LIDAR",
    )
    assert_bonus(
        answerer,
        doc,
        bonus="expansion_bonus",
        gains=lambda piece: piece.text.startswith("Light Detection"),
        asking="What does LIDAR stand for?",
        other="How does LIDAR work?",
    )


def test_a_question_asking_what_a_term_is_gives_its_definition_a_bonus(answerer):
    # A textbook's "What is grey box testing?": the list of its characteristics, under a heading that names it,
    # read more like the question than the section's own definition did.
    doc = chunk(
        "Grey box testing combines elements of both black box and white box testing.\n\n"
        "Characteristics of Grey Box Testing:\n\n• Risk-Based: Targets areas most likely to contain defects\n"
        "• Integration Focus: Often used for integration and system testing",
        section="Test Strategies > Grey Box Testing",
    )
    assert_bonus(
        answerer,
        doc,
        bonus="definition_bonus",
        gains=lambda piece: piece.text.startswith("Grey box testing"),
        asking="What is grey box testing?",
        other="Why use grey box testing?",
    )


def test_what_a_named_thing_does_is_answered_by_its_definition_not_by_how_it_is_named(answerer):
    # Python-Markdown's nl2br page: its usage line ("Use nl2br as the name of the extension") reads more like the
    # question than the summary that says what the extension does, which names it with its alias.
    summary = chunk(
        "The New-Line-to-Break (nl2br) Extension will cause newlines to be treated as hard breaks; like "
        "StackOverflow and GitHub flavored Markdown do.",
        section="New-Line-to-Break Extension > Summary",
    )
    usage = chunk(
        "See Extensions for general extension usage. Use nl2br as the name of the extension.\n\n"
        "This extension does not accept any special configuration options.",
        section="New-Line-to-Break Extension > Usage",
        chunk_id=2,
    )
    assert answer(answerer, "What does the nl2br extension do?", usage, summary).startswith(
        "“The New-Line-to-Break (nl2br) Extension will cause newlines"
    )


def test_a_table_row_defines_the_term_its_first_cell_names(answerer):
    doc = chunk(
        "Protocol: DNS; Purpose: Name resolution; Port: 53\nProtocol: HTTP; Purpose: Hypertext transfer; Port: 80",
        section="Web > Protocols and ports",
    )
    assert_bonus(
        answerer,
        doc,
        bonus="definition_bonus",
        gains=lambda piece: piece.text.startswith("Protocol: DNS"),
        asking="What is DNS?",
        other="Which port does DNS use?",
    )


def test_an_exercises_task_is_never_quoted_its_sample_solution_is(answerer):
    # A real textbook's "Try it" section: each exercise (a pymdownx details block) holds its solution.
    doc = chunk(
        "Exercise 4: DNS Transport Protocol Decision: Explain when DNS would use TCP instead of UDP. Give two "
        "real reasons.\n\nSample Solution: DNS uses TCP instead of UDP for responses over 512 bytes and for zone "
        "transfers.",
        section="How data moves > Try it",
    )
    assert [piece.text for piece in quotables([doc])] == [
        "Sample Solution: DNS uses TCP instead of UDP for responses over 512 bytes and for zone transfers."
    ]
    assert answer(answerer, "When does DNS use TCP instead of UDP?", doc).startswith("“Sample Solution: DNS uses")


def test_quotes_of_one_passage_read_in_its_order(answerer):
    # As the demo guide's retrieval gives them: the later sentence of the passage scores best.
    stopping = chunk(
        'While an answer is on its way, a "Stop" button takes the place of "Send". Press it to stop the answer: '
        'what has arrived stays, marked "stopped", and the server cancels the language model\'s request and '
        "keeps nothing of that turn. Stop also ends a wait for a busy server at once.",
        section="The chat widget > Using it > Stopping an answer",
    )
    stopping.meta["title"] = "The chat widget"
    streaming = chunk(
        "Ask for Accept: text/event-stream, or add ?stream=1, on the message endpoint. If the client disconnects "
        "while the answer is being generated, generation stops and the turn is not stored.",
        section="The chat API > Streaming",
    )
    streaming.meta.update(title="The chat API", chunk_id=2)
    assert answer(answerer, "How do I stop an answer?", stopping, streaming) == (
        '“While an answer is on its way, a "Stop" button takes the place of "Send".” [1] '
        '“Press it to stop the answer: what has arrived stays, marked "stopped", and the server cancels the '
        "language model's request and keeps nothing of that turn.” [1] "
        "“Stop also ends a wait for a busy server at once.” [1]"
    )


def test_three_close_sentences_of_one_passage_are_quoted_as_its_paragraph(answerer):
    doc = chunk(
        "A wind speed of exactly zero for hours while the trees move means the reed switch is not closing. "
        "Test it with the multimeter's continuity beeper while turning the cups by hand: it should beep once per "
        "revolution. Corroded connectors at the mast cause most of these faults; seal them with "
        "self-amalgamating tape.",
        section="Troubleshooting > Wind speed reads zero",
    )
    doc.meta["title"] = "Troubleshooting"
    reply = answer(answerer, "My wind speed shows zero but it's windy, what's wrong?", doc)
    assert reply.startswith("“A wind speed of exactly zero for hours while the trees move means the reed switch")
    assert reply.index("Test it with") < reply.index("Corroded connectors") and reply.count("[1]") == 3


def test_the_steps_of_a_list_are_quoted_in_the_lists_order(answerer):
    doc = chunk(
        "Calibrate the gauge once a year:\n\n"
        "- Level the gauge on a flat surface with a spirit level.\n"
        "- Measure 100 ml of water with a kitchen measuring jug and pour it slowly through the funnel.\n"
        "- Adjust the bucket stop screws by a quarter turn and repeat until the count is within two tips.",
        section="Rain gauge > Calibrating the gauge",
    )
    reply = answer(answerer, "How do I calibrate the rain gauge?", doc)
    assert reply.index("Level the gauge") < reply.index("Adjust the bucket")


def test_the_word_asking_for_a_measure_is_not_looked_for_in_the_answer(answerer):
    # "How long" asks for a length: the sentence that says "too long" is about something else.
    bus = chunk(
        "All digital sensors share two wires, SDA and SCL, plus power and ground. Keep I²C cables under one "
        "metre, or use a bus extender such as the P82B715 for longer runs up the mast.",
        section="Sensors > The I²C bus",
    )
    hang = chunk(
        "A hung bus shows up as every digital sensor failing at once. The usual cause is a cable that is too long "
        "or a missing pull-up resistor.",
        section="Troubleshooting > The I²C bus hangs",
    )
    hang.meta["chunk_id"] = 2
    assert "under one metre" in answer(answerer, "How long can an I²C cable be?", hang, bus)


def test_what_a_notebook_cell_printed_reads_as_prose_only_when_it_is_sentences():
    doc = chunk(
        "The beds took 1,200 litres.\n\n```python\nprint(share)\n```\n\n"
        "```output\nThe barrel covered 70% of the watering.\n```\n\n"
        "```output\n   month  litres\n0  June     288\n```\n\n"
        "```text\nThe same sentence in a text block of a book stays code.\n```"
    )
    assert [(q.kind, q.text) for q in quotables([doc])] == [
        ("sentence", "The beds took 1,200 litres."),
        ("sentence", "The barrel covered 70% of the watering."),
    ]


def test_a_table_row_may_open_with_a_cell_of_a_column_without_a_header():
    # A pandas table's row number has no header: "0; month: June; litres: 288".
    doc = chunk("0; month: June; litres: 288\n1; month: July; litres: 186", "Rain log > Collected rain")
    assert [(q.kind, q.text) for q in quotables([doc])] == [
        ("row", "0; month: June; litres: 288"),
        ("row", "1; month: July; litres: 186"),
    ]
