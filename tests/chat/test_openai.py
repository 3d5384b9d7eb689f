"""The OpenAI path, through the real `openai` client, against a local OpenAI-compatible server on 127.0.0.1."""

import pytest
from django.urls import reverse

from chat.pipeline import SYSTEM_PROMPT
from tests.chat.conftest import parse_sse, streamed_body

pytestmark = pytest.mark.django_db(transaction=True)

CONVERSE = reverse("chat-converse")


def new_session(api) -> str:
    return api.post(reverse("chat-session-list")).json()["session_id"]


def ask(api, session_id: str, message: str, **extra):
    url = reverse("chat-session-messages", args=[session_id])
    return api.post(url, {"message": message, **extra}, format="json")


def turns(api, session_id: str) -> list[dict]:
    return api.get(reverse("chat-session-detail", args=[session_id])).json()["turns"]


def test_answer_from_the_llm_with_citations_and_usage(api, knowledge, llm):
    llm.reply = "Joseph Strauss was the chief engineer [1]."
    session_id = new_session(api)
    response = ask(api, session_id, "Who was the chief engineer of the Golden Gate Bridge?")
    assert response.status_code == 200, response.content
    reply = response.json()
    assert reply["generator"] == "openai:test-model"
    assert reply["status"] == "answered"
    assert reply["answer"] == "Joseph Strauss was the chief engineer [1]."
    assert reply["usage"]["total_tokens"] == 49
    assert [s["index"] for s in reply["sources"]] == [1]
    assert reply["sources"][0]["section"] == "Bridges > Golden Gate"
    assert reply["timings_ms"]["generate"] > 0

    sent = llm.requests[-1]
    assert sent["model"] == "test-model"
    assert not sent.get("stream")
    assert sent["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    user = sent["messages"][-1]["content"]
    assert user.index("<knowledge>") < user.index('<source id="1" title="Bridges" section="Bridges > Golden Gate">')
    assert user.index("</knowledge>") < user.index("<question>\nWho was the chief engineer")


def test_invalid_citations_are_dropped(api, knowledge, llm):
    llm.reply = "Strauss [1] designed it [9], see also [0] and [1, 7]."
    reply = ask(api, new_session(api), "Who was the chief engineer of the Golden Gate Bridge?").json()
    assert reply["answer"] == "Strauss [1] designed it, see also and [1]."
    assert [s["index"] for s in reply["sources"]] == [1]


def test_code_in_an_llm_answer_keeps_its_indentation_and_its_brackets(api, knowledge, llm):
    # Only prose is tidied: code's leading spaces and its ranges[0] are no gaps and no citations.
    code = "```python\ndef first(spans):\n    return spans[0]  # [9]\n```"
    llm.reply = f"Read the first span [1]:\n\n{code}\n\nThen `spans[2]` [9]."
    reply = ask(api, new_session(api), "Who was the chief engineer of the Golden Gate Bridge?").json()
    assert reply["answer"] == f"Read the first span [1]:\n\n{code}\n\nThen `spans[2]`."
    assert [s["index"] for s in reply["sources"]] == [1]


def test_llm_no_answer_marker(api, knowledge, llm):
    llm.reply = "NO_ANSWER"
    reply = ask(api, new_session(api), "What is the colour of the Golden Gate Bridge's toll booths?").json()
    assert reply["status"] == "no_answer"
    assert reply["sources"] == []


def test_weak_evidence_never_calls_the_llm(api, knowledge, llm):
    reply = ask(api, new_session(api), "What is the boiling point of mercury in kelvin?").json()
    assert reply["status"] == "no_answer"
    assert llm.requests == []


def test_follow_up_is_condensed_by_the_llm(api, knowledge, llm):
    session_id = new_session(api)
    llm.reply = "The Webb telescope launched in 2021 [1]."
    assert ask(api, session_id, "Tell me about the James Webb Space Telescope.").status_code == 200
    llm.reply = "When did the James Webb Space Telescope launch?"
    reply = ask(api, session_id, "When did it launch?").json()
    rewrite_request = llm.requests[1]
    assert "<conversation>" in rewrite_request["messages"][-1]["content"]
    assert reply["query"] == "When did the James Webb Space Telescope launch?"
    assert reply["sources"] == [] or reply["sources"][0]["title"] == "Telescopes"
    history_request = llm.requests[2]
    roles = [m["role"] for m in history_request["messages"]]
    assert roles == ["system", "user", "assistant", "user"]


def test_streaming_tokens_from_the_llm(api, knowledge, llm):
    llm.reply = "Tower Bridge was completed in 1894 [1]."
    session_id = new_session(api)
    url = reverse("chat-session-messages", args=[session_id]) + "?stream=1"
    response = api.post(url, {"message": "When was Tower Bridge completed?"}, format="json")
    events = parse_sse(streamed_body(response))
    names = [name for name, _ in events]
    assert names[0] == "sources" and names[-1] == "done"
    assert names.count("token") >= 5
    assert "".join(d["text"] for n, d in events if n == "token") == llm.reply
    assert llm.requests[-1]["stream"] is True
    assert events[-1][1]["answer"] == llm.reply
    assert events[-1][1]["usage"]["total_tokens"] == 49
    assert turns(api, session_id)[-1]["content"] == llm.reply


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [
        ("429", 503, "llm_rate_limited"),
        ("500", 503, "llm_unavailable"),
        ("timeout", 504, "llm_timeout"),
        ("malformed", 502, "llm_bad_response"),
        ("empty", 502, "llm_bad_response"),
    ],
)
def test_llm_failures_give_clear_errors_and_keep_the_session(api, knowledge, llm, mode, status, code):
    session_id = new_session(api)
    llm.reply = "Cheddar comes from Somerset [1]."
    assert ask(api, session_id, "Where does cheddar come from?").status_code == 200
    before = turns(api, session_id)
    llm.mode = mode
    response = ask(api, session_id, "How long is cheddar aged?")
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert turns(api, session_id) == before
    llm.mode = "ok"
    assert ask(api, session_id, "How long is cheddar aged?").status_code == 200
    assert len(turns(api, session_id)) == len(before) + 2


def test_llm_failure_while_streaming_is_an_error_event(api, knowledge, llm):
    llm.mode = "500"
    session_id = new_session(api)
    url = reverse("chat-session-messages", args=[session_id]) + "?stream=1"
    events = parse_sse(streamed_body(api.post(url, {"message": "Who built Hubble?"}, format="json")))
    assert events[0][0] == "sources"
    assert events[-1][0] == "error"
    assert events[-1][1]["error"]["code"] == "llm_unavailable"
    assert events[-1][1]["error"]["message"]
    assert turns(api, session_id) == []


@pytest.mark.parametrize("mode", ["stream_error", "stream_malformed"])
def test_a_model_failing_mid_stream_is_an_error_event_and_stores_nothing(api, knowledge, llm, mode):
    llm.mode = mode
    session_id = new_session(api)
    url = reverse("chat-session-messages", args=[session_id]) + "?stream=1"
    events = parse_sse(streamed_body(api.post(url, {"message": "Who built Hubble?"}, format="json")))
    names = [name for name, _ in events]
    assert names[0] == "sources" and "token" in names
    assert names[-1] == "error" and "done" not in names
    assert events[-1][1]["error"]["code"] == "llm_bad_response"
    assert turns(api, session_id) == []


def test_retries_with_backoff_recover_from_a_transient_error(api, knowledge, llm, settings):
    from chat.engine import reset_chat_engine

    settings.OPENAI_MAX_RETRIES = 2
    reset_chat_engine()
    llm.mode, llm.fail_times = "500", 1
    response = ask(api, new_session(api), "Who built the Hubble Space Telescope?")
    assert response.status_code == 200
    assert len(llm.requests) == 2


# A reader leaving mid-stream cancels the model request: tests/e2e/test_async_serving.py, against the real server.


def test_optional_fallback_answers_extractively_and_says_so(api, knowledge, llm, settings):
    from chat.engine import reset_chat_engine

    settings.CHAT_LLM_FALLBACK = True
    reset_chat_engine()
    llm.mode = "500"
    session_id = new_session(api)
    response = ask(api, session_id, "When was Tower Bridge completed?")
    assert response.status_code == 200
    reply = response.json()
    assert reply["generator"] == "extractive (fallback: llm_unavailable)"
    assert "1894" in reply["answer"]
    assert turns(api, session_id)[-1]["data"]["generator"] == reply["generator"]


def test_a_selection_reaches_the_llm_with_its_context(api, knowledge, llm):
    llm.reply = "It opened in 1937 [2]."
    selection = "Its chief engineer was Joseph Strauss, and its colour is called International Orange."
    response = ask(api, new_session(api), "When did it open?", selected_text=selection)
    assert response.status_code == 200, response.content
    prompt = llm.requests[-1]["messages"][-1]["content"]
    assert f'selected="true">\n{selection}\n</source>' in prompt
    context = prompt[prompt.index('context="true">') :]
    assert "The Golden Gate Bridge opened in 1937" in context.split("</source>")[0]
    reply = response.json()
    assert [source["index"] for source in reply["sources"]] == [1, 2]  # the selection and the text it sits in
    assert reply["sources"][0]["kind"] == "selection"
