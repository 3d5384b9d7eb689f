"""Conversation behaviour with the real offline pipeline: follow-ups, selected text, abstention."""

import pytest
from django.urls import reverse

from chat.rewriting import QueryRewriter, is_follow_up
from chat.services import NO_ANSWER_MESSAGE

pytestmark = pytest.mark.django_db

CONVERSE = reverse("chat-converse")


def ask(api, message: str, session_id: str | None = None, **extra) -> dict:
    payload = {"message": message, **extra}
    if session_id:
        payload["session_id"] = session_id
    response = api.post(CONVERSE, payload, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_follow_up_uses_history_for_retrieval(api, knowledge):
    first = ask(api, "Tell me about the James Webb Space Telescope mirror.")
    assert first["sources"][0]["section"] == "Telescopes > Webb"
    follow_up = ask(api, "When did it launch?", first["session_id"])
    assert "Webb" in follow_up["query"]
    assert follow_up["sources"][0]["section"] == "Telescopes > Webb"
    assert "25 December 2021" in follow_up["answer"]

    # The same words without the history retrieve by themselves, and do not find Webb's launch.
    alone = ask(api, "When did it launch?")
    assert alone["query"] == "When did it launch?"
    assert "25 December 2021" not in alone["answer"]


def test_a_second_follow_up_keeps_the_topic_of_the_question_before_both(api, knowledge):
    session = ask(api, "Tell me about the James Webb Space Telescope mirror.")["session_id"]
    ask(api, "When did it launch?", session)
    second = ask(api, "And from where?", session)
    assert second["query"] == (
        "And from where? When did it launch? Tell me about the James Webb Space Telescope mirror."
    )
    assert "French Guiana" in second["answer"]


def test_follow_ups_join_the_questions_back_to_the_last_that_stood_alone():
    from haystack.dataclasses import ChatMessage

    history = [
        ChatMessage.from_user(text)
        for text in ("What is Hubble?", "Who polished the main mirror of the Webb telescope?", "When?")
    ]
    assert QueryRewriter().run(message="And why?", history=history)["query"] == (
        "And why? When? Who polished the main mirror of the Webb telescope?"
    )
    # A short question that names its topic stops the join: the one before it was another topic.
    history = [ChatMessage.from_user(text) for text in ("How do I add a document?", "What is the embedding model?")]
    assert QueryRewriter().run(message="How many dimensions does it have?", history=history)["query"] == (
        "How many dimensions does it have? What is the embedding model?"
    )
    many = [ChatMessage.from_user(text) for text in ("Why?", "How?", "Where?", "When?")]
    assert QueryRewriter().run(message="And then?", history=many)["query"] == "And then? When? Where? How?"


def test_follow_up_after_a_topic_change_tracks_the_latest_topic(api, knowledge):
    session = ask(api, "Who built the Hubble Space Telescope?")["session_id"]
    ask(api, "Where did cheddar cheese originate?", session)
    follow_up = ask(api, "How long is it aged?", session)
    assert follow_up["sources"][0]["title"] == "Cheese"
    assert "aged" in follow_up["answer"]


def test_standalone_questions_are_not_rewritten():
    from haystack.dataclasses import ChatMessage

    history = [ChatMessage.from_user("Tell me about Hubble.")]
    assert not is_follow_up("What colour is the Golden Gate Bridge?")
    assert QueryRewriter().run(message="What colour is the Golden Gate Bridge?", history=history)["query"] == (
        "What colour is the Golden Gate Bridge?"
    )
    assert is_follow_up("and then?")


def test_selected_text_grounds_the_answer_and_is_cited(api, knowledge):
    selection = "Its chief engineer was Joseph Strauss, and its colour is called International Orange."
    reply = ask(api, "Who was the chief engineer?", selected_text=selection)
    assert reply["status"] == "answered"
    assert "Joseph Strauss" in reply["answer"]
    first = reply["sources"][0]
    assert first["kind"] == "selection"
    assert first["index"] == 1
    assert first["title"] == "Bridges"
    assert first["chunk_id"] == knowledge["Bridges"].chunks.get(section="Bridges > Golden Gate").id


def test_a_long_selection_is_located_from_its_opening_words_only(api, knowledge):
    from chat.engine import get_chat_engine
    from chat.retrieval import LOCATE_EMBED_WORDS

    batcher = get_chat_engine().pipelines.retrieval.get_component("embedder").batcher
    embedded: list[str] = []
    embed_many = batcher.embed_many

    def spy(texts: list[str]):
        embedded.extend(texts)
        return embed_many(texts)

    batcher.embed_many = spy
    # The Golden Gate passage, then 19,000 characters more: only its opening is embedded to find it.
    selection = "Its chief engineer was Joseph Strauss, and its colour is called International Orange. " + "x " * 9_500
    reply = ask(api, "Who was the chief engineer?", selected_text=selection)
    assert reply["status"] == "answered" and "Joseph Strauss" in reply["answer"]
    assert reply["sources"][0]["chunk_id"] == knowledge["Bridges"].chunks.get(section="Bridges > Golden Gate").id
    assert max(len(text.split()) for text in embedded) <= LOCATE_EMBED_WORDS


def test_selection_that_does_not_answer_says_so(api, knowledge):
    selection = "Cheddar cheese originated in the English village of Cheddar in Somerset."
    reply = ask(api, "What rocket launched the James Webb Space Telescope?", selected_text=selection)
    assert reply["status"] == "selection_only"
    assert reply["answer"].startswith("The selected passage does not answer this question.")
    assert "Ariane 5" in reply["answer"]  # supported from elsewhere in the book, and cited
    assert all(source["kind"] == "chunk" for source in reply["sources"])


def test_selection_not_in_the_book_is_still_used_but_not_attributed(api, knowledge):
    selection = "The platypus is one of the few venomous mammals; males have a spur on the hind foot."
    reply = ask(api, "Which platypus has a spur?", selected_text=selection)
    assert reply["status"] == "answered"
    assert reply["sources"][0]["kind"] == "selection"
    assert reply["sources"][0]["chunk_id"] is None


def test_abstains_when_the_knowledge_does_not_cover_it(api, knowledge):
    reply = ask(api, "What is the boiling point of mercury in kelvin?")
    assert reply["status"] == "no_answer"
    assert reply["answer"] == NO_ANSWER_MESSAGE
    assert reply["sources"] == []
    assert "generate" not in reply["timings_ms"]


def test_empty_knowledge_base_abstains(api, db):
    reply = ask(api, "Anything at all?")
    assert reply["status"] == "no_answer"


def test_asking_what_a_selection_means_never_echoes_it(api, knowledge):
    # The whole Tower Bridge section is selected: its context has nothing more to explain it with.
    selection = (
        "Tower Bridge in London was completed in 1894. Its bascules are raised for tall ships on the River Thames."
    )
    reply = ask(api, "What does this mean?", selected_text=selection)
    assert reply["status"] == "selection_only"
    assert "completed in 1894" not in reply["answer"] and "bascules" not in reply["answer"]
    assert reply["sources"] == []


def test_citation_cleanup_keeps_file_extensions():
    from haystack.dataclasses import ChatMessage

    from chat.answering import CitationValidator

    out = CitationValidator().run(
        replies=[ChatMessage.from_assistant("Upload .txt, .md or .pdf files [1] [7].")],
        source_count=1,
    )
    assert out["answer"] == "Upload .txt, .md or .pdf files [1]."
    assert out["cited"] == [1]


def test_an_unsafe_reference_stored_earlier_never_becomes_a_link(api, knowledge):
    from knowledge.models import SourceDocument

    SourceDocument.objects.filter(title="Bridges").update(reference="javascript:alert(document.domain)//")
    reply = ask(api, "Who was the chief engineer of the Golden Gate Bridge?")
    assert reply["sources"][0]["title"] == "Bridges"
    assert reply["sources"][0]["url"] == ""
