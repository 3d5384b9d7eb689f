"""The OpenAI-compatible API in process: request rules, OpenAI's error shape, sources text and links.

The real `openai` client against the served app is in tests/e2e/test_openai_compatible.py.
"""

import pytest
from django.urls import reverse

from chat.completions import absolute_url, sources_text

pytestmark = pytest.mark.django_db(transaction=True)

COMPLETIONS = reverse("openai-chat-completions")


def complete(api, **body):
    return api.post(COMPLETIONS, {"model": "book", **body}, format="json")


def assert_openai_error(response, status: int, code: str, error_type: str) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert (error["code"], error["type"]) == (code, error_type)
    assert error["message"] and "param" in error
    return error


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"messages": []}, "invalid_request", "messages"),
        ({"messages": [{"role": "assistant", "content": "Hi"}]}, "invalid_request", "messages"),
        ({"messages": [{"role": "user", "content": " \x00 "}]}, "empty_message", "messages"),
        ({"messages": [{"role": "user"}]}, "empty_message", "messages"),
        ({"messages": [{"role": "user", "content": "x" * 4001}]}, "message_too_long", "messages"),
        ({"messages": [{"role": "user", "content": 7}]}, "invalid_request", "messages"),
        ({"messages": [{"role": "wizard", "content": "Hi"}]}, "invalid_request", "messages"),
        ({"messages": [{"role": "user", "content": "Hi"}], "n": 2}, "invalid_request", "n"),
        ({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 0}, "invalid_request", "max_tokens"),
        ({"messages": [{"role": "user", "content": "Hi"}], "selected_text": "y" * 20001}, "selection_too_long", None),
    ],
)
def test_bad_requests_get_openais_error_shape(api, body, code, param):
    error = assert_openai_error(complete(api, **body), 400, code, "invalid_request_error")
    if param:
        assert error["param"] == param


def test_malformed_json_oversize_bodies_and_unknown_paths(api, settings):
    response = api.post(COMPLETIONS, data="{nope", content_type="application/json")
    assert_openai_error(response, 400, "malformed_json", "invalid_request_error")
    settings.COMPLETIONS_MAX_BODY_BYTES = 1000
    response = complete(api, messages=[{"role": "user", "content": "x" * 2000}])
    assert_openai_error(response, 413, "request_too_large", "invalid_request_error")
    assert_openai_error(api.get("/v1/engines"), 404, "not_found", "not_found_error")


def test_keys_are_checked_with_openais_error_shape(api, settings):
    settings.CHAT_API_KEYS = ["right-key"]
    assert_openai_error(api.get(reverse("openai-models")), 401, "missing_api_key", "authentication_error")
    api.credentials(HTTP_AUTHORIZATION="Bearer wrong-key")
    assert_openai_error(api.get(reverse("openai-models")), 401, "invalid_api_key", "authentication_error")
    api.credentials(HTTP_AUTHORIZATION="Bearer right-key")
    assert api.get(reverse("openai-models")).json()["data"][0]["id"] == "book"


def test_the_model_id_is_a_setting(api, settings, knowledge):
    settings.COMPLETIONS_MODEL_ID = "field-guide"
    assert api.get(reverse("openai-models")).json()["data"][0]["id"] == "field-guide"
    assert_openai_error(
        complete(api, messages=[{"role": "user", "content": "Hi"}]), 404, "model_not_found", "not_found_error"
    )
    # Any string is a model id (the schema says so); one with a NUL is just not ours.
    response = complete(api, model="field\x00guide", messages=[{"role": "user", "content": "Hi"}])
    assert_openai_error(response, 404, "model_not_found", "not_found_error")
    response = api.post(
        COMPLETIONS,
        {"model": "field-guide", "messages": [{"role": "user", "content": "When did Tower Bridge open?"}]},
        format="json",
    )
    assert "1894" in response.json()["choices"][0]["message"]["content"]


def test_content_parts_are_read_as_text(api, knowledge):
    parts = [{"type": "text", "text": "When did Tower Bridge"}, {"type": "text", "text": "open?"}]
    response = complete(api, messages=[{"role": "user", "content": parts}])
    assert response.status_code == 200, response.content
    assert "1894" in response.json()["choices"][0]["message"]["content"]


def test_nothing_is_stored_in_the_session_store(api, knowledge):
    from chat.sessions import get_session_store

    complete(api, messages=[{"role": "user", "content": "When did Tower Bridge open?"}])
    assert len(get_session_store()) == 0


def test_sources_text_names_each_source_and_its_link():
    sources = [
        {"index": 1, "title": "Bridges", "section": "Bridges > Golden Gate", "url": "https://book.example.org/b#g"},
        {"index": 2, "title": "Notes", "section": "Notes", "url": ""},
    ]
    assert sources_text(sources) == (
        "\n\nSources:\n[1] Bridges > Golden Gate: <https://book.example.org/b#g>\n[2] Notes"
    )
    assert sources_text([]) == ""


def test_relative_links_resolve_against_the_book_site(settings):
    assert absolute_url("/docs/a.md#b", base="http://127.0.0.1:8000/") == "http://127.0.0.1:8000/docs/a.md#b"
    assert absolute_url("https://elsewhere.org/x", base="http://127.0.0.1:8000/") == "https://elsewhere.org/x"
    assert absolute_url("", base="http://127.0.0.1:8000/") == ""
    settings.BOOK_SITE_URL = "https://book.example.org/"
    assert absolute_url("/docs/a.md#b", base="http://127.0.0.1:8000/") == "https://book.example.org/docs/a.md#b"
