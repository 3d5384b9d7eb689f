"""The chat widget in a real browser (Debian's Chromium driven by Playwright) against the real server."""

import contextlib
import io
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, connections

from tests.e2e.conftest import API_KEY
from tests.pdf_factory import MANUAL, OUTLINE, make_pdf
from tests.servers import AppServer

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make system-deps)"),
]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("WIDGET_SCREENSHOTS", ROOT / "test-results" / "widget"))

# Records every state an assistant message passes through, so a test can see that it streamed.
STATE_RECORDER = """
window.__states = [];
new MutationObserver((records) => {
  for (const r of records) {
    if (r.attributeName === 'data-state') window.__states.push(r.target.dataset.state);
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-state']});
"""


@pytest.fixture
def server(db):
    call_command(
        "ingest", str(ROOT / "docs" / "guide"), "--reference-base", "/docs/", "--no-progress", stdout=io.StringIO()
    )
    with AppServer(database=connection.settings_dict["NAME"]).running() as app:
        yield app


@contextlib.contextmanager
def _chromium() -> Iterator:
    """A page of a fresh Chromium (Playwright's sync API)."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        context.add_init_script(STATE_RECORDER)
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield page
        browser.close()


@pytest.fixture
def page(server):
    with _chromium() as page:
        page.goto(server.url + "/")
        yield page


@pytest.fixture
def llm_page(knowledge, llm_app, model):
    """A browser for the chat corpus answered by the (fake) language model, whose server wants API_KEY."""
    with _chromium() as page:
        yield page


def ask(page, question: str):
    if page.locator("#cbw-panel").is_hidden():
        page.click(".cbw-launcher")
    before = page.locator(".cbw-assistant").count()
    page.fill(".cbw-input", question)
    page.keyboard.press("Enter")
    bubble = page.locator(".cbw-assistant").nth(before)
    page.wait_for_function(
        "el => !['thinking', 'streaming'].includes(el.dataset.state) && el.dataset.state",
        arg=bubble.element_handle(),
    )
    return bubble


def shot(page, name: str) -> None:
    page.locator("#cbw-panel").screenshot(path=str(SHOTS / f"{name}.png"))


def test_streamed_answer_with_citation_follow_up_and_reload(page, server):
    bubble = ask(page, "How do I add a document?")
    assert bubble.get_attribute("data-state") == "answered"
    assert "streaming" in page.evaluate("window.__states")
    cite = bubble.locator("a.cbw-cite").first
    assert "/docs/guide/02-getting-started.md#add-a-document" in cite.get_attribute("href")
    assert "Source 1" in cite.get_attribute("aria-label")
    shot(page, "answered")
    cite.click()
    page.wait_for_url("**/02-getting-started.md#add-a-document")
    assert page.locator("#add-a-document").is_visible()

    first = ask(page, "What is the default embedding model?")
    assert "all-MiniLM-L6-v2" in first.inner_text()
    follow_up = ask(page, "How many dimensions does it have?")
    assert "384" in follow_up.inner_text()

    turns = page.locator(".cbw-msg").count()
    page.reload()
    page.click(".cbw-launcher")
    page.wait_for_function(f"document.querySelectorAll('.cbw-msg').length === {turns}")
    assert "384" in page.locator(".cbw-assistant").last.inner_text()
    assert page.locator(".cbw-assistant").last.locator("a.cbw-cite").count() >= 1


def test_a_pdf_source_is_named_with_its_page_and_opens_the_file_there(make_document):
    make_document(
        title="Station manual",
        reference="/files/manual.pdf",
        file_name="manual.pdf",
        file_data=make_pdf(MANUAL, outline=OUTLINE),
    )
    with AppServer(database=connection.settings_dict["NAME"]).running() as app, _chromium() as page:
        page.goto(app.url + "/")
        bubble = ask(page, "How fast a wind can the anemometer read?")
        assert bubble.get_attribute("data-state") == "answered"
        source = bubble.locator(".cbw-source-title").first
        assert source.inner_text() == "Station manual — Wind, p. 4"
        assert source.get_attribute("href") == f"{app.url}/files/manual.pdf#page=4"


def test_quoted_code_keeps_its_indentation(page):
    # YAML whose nesting is its meaning: the reader copies it into mkdocs.yml as shown.
    bubble = ask(page, "How do I add the widget to an MkDocs site?")
    assert bubble.get_attribute("data-state") == "answered"
    code = bubble.locator(".cbw-answer pre.cbw-code > code")
    assert code.inner_text() == (
        "extra_javascript:\n  - path: https://chat.example.org/static/chat/widget.js\n    defer: true"
    )


def test_quoted_code_is_shown_as_a_code_block(page):
    bubble = ask(page, "How do I delete old questions?")
    assert bubble.get_attribute("data-state") == "answered"
    code = bubble.locator(".cbw-answer pre.cbw-code > code")
    assert code.count() == 1
    command = "15 3 * * * cd /srv/chatbot && .venv/bin/python manage.py purge_feedback --older-than 90d"
    assert code.inner_text() == command
    # The block's title (```text title="crontab"), above it as the book's site shows it; as text, never HTML.
    assert bubble.locator(".cbw-code-block > .cbw-code-bar + pre.cbw-code").count() == 1
    assert bubble.locator(".cbw-code-bar .cbw-code-title").inner_text() == "crontab"
    answer = bubble.locator(".cbw-answer").inner_text()
    assert "```" not in answer and "title=" not in answer
    bubble.locator(".cbw-copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == command
    assert bubble.locator(".cbw-copy").inner_text() == "Copied"
    assert answer.startswith("“Delete old rows with a cron line such as:”")
    assert "09-the-content-loop.md#" in bubble.locator("a.cbw-cite").first.get_attribute("href")
    # The block scrolls sideways inside the panel instead of widening it.
    assert page.evaluate("() => getComputedStyle(document.querySelector('.cbw-code')).overflowX") == "auto"
    shot(page, "code")


# Selects `text` inside `root`, then (with a mouse) releases the button as a mouse selection ends. A selection by
# touch (long press and handles) or by keyboard ends with no mouseup.
SELECT_TEXT = """([root, text, mouse]) => {
  const walker = document.createTreeWalker(document.querySelector(root), NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const at = node.textContent.indexOf(text);
    if (at >= 0) {
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + text.length);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      const rect = range.getBoundingClientRect();
      const point = {bubbles: true, clientX: rect.left, clientY: rect.top};
      if (mouse) document.dispatchEvent(new MouseEvent('mouseup', point));
      return;
    }
  }
  throw new Error('text not found');
}"""


def test_ask_about_a_selected_passage(page):
    page.goto(page.url.split("/docs/")[0] + "/docs/guide/01-introduction.md")
    sentence = "Citations that point at a passage the generator was not given are removed"
    page.evaluate(SELECT_TEXT, ["#book-content", sentence, True])
    page.click(".cbw-ask-selection")
    assert sentence in page.locator(".cbw-selection-text").inner_text()
    shot(page, "selection")
    bubble = ask(page, "What does this mean?")
    assert bubble.get_attribute("data-state") == "answered"
    assert sentence in bubble.locator(".cbw-answer").inner_text()
    assert "Introduction" in bubble.locator(".cbw-sources").inner_text()
    assert sentence in page.locator(".cbw-user .cbw-quote").last.inner_text()


def test_a_passage_selected_by_touch_or_keyboard_is_offered_once_it_settles(page):
    page.set_viewport_size({"width": 375, "height": 667})
    page.goto(page.url.split("/docs/")[0] + "/docs/guide/01-introduction.md")
    sentence = "Citations that point at a passage the generator was not given are removed"
    page.evaluate(SELECT_TEXT, ["#book-content", sentence, False])
    assert page.locator(".cbw-ask-selection").is_hidden()  # not while the handles may still move
    page.wait_for_selector(".cbw-ask-selection", state="visible", timeout=2000)
    page.click(".cbw-ask-selection")
    assert sentence in page.locator(".cbw-selection-text").inner_text()
    # Taken: not offered again for the same selection, nor for text selected inside the panel.
    page.wait_for_timeout(800)
    assert page.locator(".cbw-ask-selection").is_hidden()
    page.evaluate(SELECT_TEXT, [".cbw-selection-text", "Citations that point", False])
    page.wait_for_timeout(800)
    assert page.locator(".cbw-ask-selection").is_hidden()


def test_question_outside_the_book_shows_not_covered(page):
    bubble = ask(page, "What is the capital of Mongolia?")
    assert bubble.get_attribute("data-state") == "no-answer"
    assert bubble.locator(".cbw-state").text_content() == "Not covered in this book"
    shot(page, "no-answer")


def test_backend_down_then_retry_works(page, server):
    ask(page, "How does streaming work?")
    server.stop()
    bubble = ask(page, "How do I add a document?")
    assert bubble.get_attribute("data-state") == "error"
    assert bubble.locator(".cbw-retry").is_visible()
    shot(page, "error")
    server.start()
    bubble.locator(".cbw-retry").click()
    retried = page.locator(".cbw-assistant").last
    page.wait_for_function("el => el.dataset.state === 'answered'", arg=retried.element_handle())
    assert "Add" in retried.inner_text() or "admin" in retried.inner_text()


def test_keyboard_escape_new_conversation_and_expired_session(page, server):
    page.click(".cbw-launcher")
    assert page.evaluate("document.activeElement.classList.contains('cbw-input')")
    page.keyboard.press("Escape")
    assert page.locator("#cbw-panel").is_hidden()
    ask(page, "How does streaming work?")
    assert page.locator(".cbw-log[aria-live='polite']").count() == 1
    old = page.evaluate("Object.entries(localStorage).find(([k]) => k.startsWith('chatbot.session'))[1]")
    page.click(".cbw-reset")
    assert page.locator(".cbw-msg").count() == 0
    ask(page, "How does streaming work?")
    new = page.evaluate("Object.entries(localStorage).find(([k]) => k.startsWith('chatbot.session'))[1]")
    assert new != old
    # The server forgets the session (a crash with the in-memory store; a graceful restart keeps it): the widget
    # starts again quietly.
    server.crash()
    server.start()
    bubble = ask(page, "How do I add a document?")
    assert bubble.get_attribute("data-state") == "answered"
    assert page.evaluate("Object.entries(localStorage).find(([k]) => k.startsWith('chatbot.session'))[1]") != new


def test_model_text_is_never_rendered_as_html(page, server):
    import json
    import urllib.request

    payload = {"message": "<img src=x onerror=alert(1)> How do I add a document?"}
    request = urllib.request.Request(
        server.url + "/api/chat/", data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    session_id = json.load(urllib.request.urlopen(request))["session_id"]
    page.evaluate("(id) => localStorage.setItem('chatbot.session:' + location.origin, id)", session_id)
    page.reload()
    page.click(".cbw-launcher")
    page.wait_for_selector(".cbw-user")
    assert page.locator(".cbw-panel img").count() == 0
    assert "<img src=x" in page.locator(".cbw-user").first.inner_text()


def test_rate_limited_state_then_retry_hint(page, server):
    limited = AppServer(database=connection.settings_dict["NAME"], env={"CHAT_THROTTLE_SESSION": "1/min"})
    limited.start()
    try:
        page.goto(limited.url + "/")
        first = ask(page, "How do I add a document?")
        assert first.get_attribute("data-state") == "answered"
        second = ask(page, "How does streaming work?")
        assert second.get_attribute("data-state") == "rate-limited"
        assert "Please wait" in second.locator(".cbw-answer").text_content()
        assert second.locator(".cbw-retry").is_visible()
        shot(page, "rate-limited")
    finally:
        limited.stop()


def _refused_busy(url: str) -> bool:
    import urllib.error
    import urllib.request
    import uuid

    try:
        urllib.request.urlopen(f"{url}/api/chat/sessions/{uuid.uuid4()}/", timeout=10)
    except urllib.error.HTTPError as error:
        return error.code == 503
    return False


@contextlib.contextmanager
def _one_request_held(page, *, body_seconds: int) -> Iterator[AppServer]:
    """A server that takes one open API request, which another client holds by never sending its body (refused
    with 408 after ``body_seconds``), and the widget on its page with a question typed."""
    busy = AppServer(
        database=connection.settings_dict["NAME"],
        env={"SERVER_MAX_OPEN_REQUESTS": "1", "SERVER_BODY_TIMEOUT_SECONDS": str(body_seconds)},
    )
    busy.start()
    try:
        page.goto(busy.url + "/")
        page.click(".cbw-launcher")
        page.fill(".cbw-input", "How do I add a document?")
        with socket.create_connection(("127.0.0.1", busy.port)) as holder:
            holder.sendall(b"POST /api/chat/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{")
            deadline = time.monotonic() + 10
            while not _refused_busy(busy.url) and time.monotonic() < deadline:
                time.sleep(0.02)  # until the server holds the request open
            yield busy
    finally:
        busy.stop()


def test_a_busy_server_is_waited_out_and_asked_again(page, server):
    # The held request is refused after a second; the widget, told 503 server_busy with Retry-After: 2, waits
    # and asks again by itself.
    with _one_request_held(page, body_seconds=1):
        page.keyboard.press("Enter")
        bubble = page.locator(".cbw-assistant").first
        page.wait_for_selector(".cbw-assistant[data-state='waiting']")
        assert "asking again in 2 seconds" in bubble.locator(".cbw-answer").text_content()
        shot(page, "waiting")
        try:
            page.wait_for_selector(".cbw-assistant[data-state='answered']", timeout=15_000)
        except Exception:  # noqa: BLE001 - say where it ended instead of only that it timed out
            pytest.fail(f"ended {bubble.get_attribute('data-state')!r}: {bubble.inner_text()!r}")
    assert bubble.locator("a.cbw-cite").count() > 0
    assert page.locator(".cbw-retry").count() == 0  # nobody had to click


def test_stop_ends_the_wait_for_a_busy_server_at_once(page, server):
    with _one_request_held(page, body_seconds=30):
        page.keyboard.press("Enter")
        page.wait_for_selector(".cbw-assistant[data-state='waiting']")
        page.click(".cbw-stop")
        # At once, not when the server's Retry-After (2 seconds) is up; and it does not ask again.
        page.wait_for_selector(".cbw-assistant[data-state='stopped']", timeout=1_000)
        page.wait_for_timeout(2_500)
        assert page.evaluate("window.__states").count("waiting") == 1
        assert page.locator(".cbw-assistant").first.get_attribute("data-state") == "stopped"
        assert page.locator(".cbw-send").is_enabled()


def test_a_server_busy_for_long_is_waited_out_three_times_then_left_to_the_reader(page, server):
    with _one_request_held(page, body_seconds=30):
        page.keyboard.press("Enter")
        bubble = page.locator(".cbw-assistant").first
        page.wait_for_selector(".cbw-assistant[data-state='rate-limited']", timeout=20_000)
        assert page.evaluate("window.__states").count("waiting") == 3
        assert "Please wait 2 seconds, then retry." in bubble.inner_text()
        assert bubble.locator(".cbw-retry").count() == 1


def test_the_widget_sends_its_page_and_answers_favour_it(page, server):
    page.goto(server.url + "/docs/guide/07-the-chat-widget.md")
    with page.expect_request(lambda r: r.url.endswith("/messages/") and r.method == "POST") as sent:
        bubble = ask(page, "Where do I put the API key?")
    assert sent.value.post_data_json["page"] == {"url": page.url, "title": page.title()}
    assert bubble.get_attribute("data-state") == "answered"
    # The book has this in two chapters; the reader is on the widget's, so that is the one quoted first.
    assert "07-the-chat-widget.md" in bubble.locator("a.cbw-cite").first.get_attribute("href")
    assert "data-api-key" in bubble.locator(".cbw-answer").inner_text()


def test_page_context_off_sends_no_page(page, server):
    def without_page_context(route):
        html = route.fetch().text().replace('data-api-base=""', 'data-api-base="" data-page-context="off"')
        route.fulfill(body=html, content_type="text/html; charset=utf-8")

    page.route("**/docs/guide/07-the-chat-widget.md", without_page_context)
    page.goto(server.url + "/docs/guide/07-the-chat-widget.md")
    with page.expect_request(lambda r: r.url.endswith("/messages/") and r.method == "POST") as sent:
        ask(page, "Where do I put the API key?")
    assert "page" not in sent.value.post_data_json


def test_thumbs_up_then_down_with_a_comment_by_keyboard(page, server, monkeypatch, request):
    # Playwright's sync API runs an event loop in this thread; these ORM reads are plain blocking reads, on a
    # connection of the loop's context, closed when the test ends.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    request.addfinalizer(connections.close_all)

    from chat.models import Feedback, Gap

    bubble = ask(page, "How do I add a document?")
    up, down = bubble.locator(".cbw-vote[data-rating='up']"), bubble.locator(".cbw-vote[data-rating='down']")
    assert bubble.locator(".cbw-feedback").get_attribute("aria-label") == "Was this answer helpful?"
    assert up.get_attribute("aria-label") == "Helpful" and up.get_attribute("aria-pressed") == "false"
    up.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("el => el.getAttribute('aria-pressed') === 'true'", arg=up.element_handle())
    assert page.locator(".cbw-sr-only").text_content() == "Thanks for your feedback."
    assert bubble.locator(".cbw-comment").is_hidden()
    assert Feedback.objects.get().rating == "up"

    # A second vote changes the first; after a thumbs down the comment box opens and takes the focus.
    down.focus()
    page.keyboard.press("Space")
    page.wait_for_function("el => el.getAttribute('aria-pressed') === 'true'", arg=down.element_handle())
    assert up.get_attribute("aria-pressed") == "false"
    assert page.evaluate("document.activeElement.classList.contains('cbw-comment-input')")
    shot(page, "rated-down")
    page.keyboard.type("It should say which file types are accepted.")
    page.keyboard.press("Enter")
    feedback_bar = bubble.locator(".cbw-feedback").element_handle()
    page.wait_for_function("el => el.dataset.commented === 'true'", arg=feedback_bar)
    assert page.locator(".cbw-sr-only").text_content() == "Thanks, your comment was sent."
    feedback = Feedback.objects.get()
    assert (feedback.rating, feedback.comment) == ("down", "It should say which file types are accepted.")
    assert feedback.question == "How do I add a document?"
    assert Gap.objects.filter(reason="rated_down", question="How do I add a document?").count() == 1

    # Unanswered questions reach the admins too, recorded by the server off the answer's path.
    assert ask(page, "What is the boiling point of mercury?").get_attribute("data-state") == "no-answer"
    deadline = time.monotonic() + 10
    while not Gap.objects.filter(reason="no_answer").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert Gap.objects.get(reason="no_answer").question == "What is the boiling point of mercury?"

    # A restored conversation keeps its thumbs.
    page.reload()
    page.click(".cbw-launcher")
    page.wait_for_selector(".cbw-assistant .cbw-feedback")
    assert page.locator(".cbw-assistant").first.locator(".cbw-vote").count() == 2


# ---- the book's look: the widget wears the theme of the page it is embedded in ----

# A page of a book as its site generator builds it, reduced to what the widget reads: the theme attributes and
# colour variables of Docusaurus (<html data-theme>, --ifm-color-primary) and Material for MkDocs (<body
# data-md-color-scheme>, --md-primary-fg-color), with their default colours.
LOOK_PAGE = """<!doctype html><html{html}><head><meta charset="utf-8"><title>A chapter</title>
<style>{css}</style>
<link rel="stylesheet" href="/static/chat/widget.css"></head>
<body{body}><main><h1>A chapter</h1><p>Weather stations measure wind and rain.</p></main>
<script src="/static/chat/widget.js" data-api-base="" {script} defer></script></body></html>"""

DOCUSAURUS = """
:root { --ifm-color-primary: #2e8555; }
[data-theme='dark'] { --ifm-color-primary: #25c2a0; }
[data-theme='dark'] body { background: #1b1b1d; color: #e3e3e3; }
"""
MATERIAL = """
[data-md-color-primary=indigo] { --md-primary-fg-color: #4051b5; }
[data-md-color-scheme=slate] { background: #1e2129; color: #e2e4e9; }
"""

# Every element of the widget with text of its own, its text colour against the first opaque background behind
# it: the contrast ratios under WCAG AA (4.5:1) that a reader would see (disabled controls are exempt).
CONTRAST_AUDIT = """() => {
  const canvas = document.createElement('canvas'); canvas.width = canvas.height = 1;
  const paint = canvas.getContext('2d');
  const rgba = (color) => {
    paint.clearRect(0, 0, 1, 1); paint.fillStyle = 'rgba(0,0,0,0)'; paint.fillStyle = color; paint.fillRect(0, 0, 1, 1);
    const d = paint.getImageData(0, 0, 1, 1).data; return [d[0], d[1], d[2], d[3] / 255];
  };
  const linear = (x) => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };
  const lum = (c) => c.slice(0, 3).map(linear).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const ratio = (a, b) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
  const behind = (node) => {
    for (let n = node; n; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor); if (c[3] > 0.5) return c;
    }
    return [255, 255, 255, 1];
  };
  const checked = [], low = [];
  for (const node of document.querySelectorAll('.cbw-launcher, .cbw-panel, .cbw-panel *')) {
    const texty = [...node.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()) ||
      (node.matches('textarea, input') && node.value);
    if (!texty || !node.getClientRects().length || node.closest('.cbw-sr-only') || node.disabled) continue;
    const r = ratio(rgba(getComputedStyle(node).color), behind(node));
    checked.push(node.className || node.tagName);
    const text = (node.textContent || node.value).trim().slice(0, 30);
    if (r < 4.5) low.push(`${node.className || node.tagName} "${text}" ${r.toFixed(2)}`);
  }
  return {checked: checked.length, low};
}"""


def _look_page(page, server, *, html: str = "", body: str = "", script: str = "", css: str = "") -> None:
    url = server.url + "/a-chapter"
    markup = LOOK_PAGE.format(html=html, body=body, script=script, css=css)
    page.route(url, lambda route: route.fulfill(body=markup, content_type="text/html; charset=utf-8"))
    page.goto(url)
    page.wait_for_selector(".cbw-launcher")


def _ask_the_model(page, app, question: str):
    """Ask ``question`` on a book page of ``app`` (the server whose fake model answers, which wants API_KEY),
    without waiting for the answer; the assistant's message."""
    _look_page(page, app, script=f'data-api-key="{API_KEY}"')
    page.click(".cbw-launcher")
    page.fill(".cbw-input", question)
    page.keyboard.press("Enter")
    return page.locator(".cbw-assistant")


def _colour(page, selector: str, prop: str) -> str:
    return page.eval_on_selector(selector, f"el => getComputedStyle(el).{prop}")


def _is_dark(page) -> bool:
    return page.eval_on_selector(".cbw-panel", "el => el.classList.contains('cbw-dark')")


def _wait_dark(page, dark: bool) -> None:
    page.wait_for_function(
        "(dark) => document.querySelector('.cbw-panel').classList.contains('cbw-dark') === dark", arg=dark
    )


def _audit(page) -> int:
    """Ask, get an answer and a "not covered", open the comment box: no text under 4.5:1. How many were checked."""
    ask(page, "How do I add a document?")
    ask(page, "What is the capital of Mongolia?")
    page.locator(".cbw-assistant").first.get_by_role("button", name="Not helpful").click()
    page.locator(".cbw-comment-input").first.fill("It missed the upload limit.")
    result = page.evaluate(CONTRAST_AUDIT)
    assert result["low"] == [], result["low"]
    return result["checked"]


def test_the_widget_wears_a_docusaurus_books_theme_and_follows_its_switch(page, server):
    _look_page(page, server, html=' data-theme="light"', css=DOCUSAURUS)
    assert not _is_dark(page)
    assert page.locator('link[href$="/widget.css"]').count() == 1  # the page links it: not added twice
    # The book's primary colour, with the text colour that reads on it.
    assert _colour(page, ".cbw-launcher", "backgroundColor") == "rgb(46, 133, 85)"
    assert _colour(page, ".cbw-launcher", "color") == "rgb(255, 255, 255)"
    page.click(".cbw-launcher")
    assert _audit(page) >= 15
    # The green reads on white but not on the answer's grey: links take it darkened just enough, same hue.
    link = page.eval_on_selector(".cbw-cite", "el => getComputedStyle(el).color")
    assert link not in {"rgb(46, 133, 85)", "rgb(35, 64, 142)"}, link
    shot(page, "theme-docusaurus-light")

    # The reader switches the book to dark: the widget follows without a reload.
    page.evaluate("document.documentElement.dataset.theme = 'dark'")
    _wait_dark(page, True)
    assert _colour(page, ".cbw-panel", "backgroundColor") == "rgb(28, 29, 34)"
    assert _colour(page, ".cbw-send", "backgroundColor") == "rgb(37, 194, 160)"
    assert _colour(page, ".cbw-send", "color") == "rgb(17, 17, 17)"  # a light teal needs dark text
    assert _colour(page, ".cbw-cite", "color") == "rgb(37, 194, 160)"  # and reads on the dark panel as it is
    assert page.evaluate(CONTRAST_AUDIT)["low"] == []
    shot(page, "theme-docusaurus-dark")
    page.evaluate("document.documentElement.dataset.theme = 'light'")
    _wait_dark(page, False)


def test_the_widget_wears_material_for_mkdocs_slate_and_its_primary(page, server):
    _look_page(page, server, body=' data-md-color-scheme="slate" data-md-color-primary="indigo"', css=MATERIAL)
    assert _is_dark(page)
    assert _colour(page, ".cbw-launcher", "backgroundColor") == "rgb(64, 81, 181)"
    assert _colour(page, ".cbw-launcher", "color") == "rgb(255, 255, 255)"
    page.click(".cbw-launcher")
    assert _audit(page) >= 15
    # Indigo is too dark to read as text on the dark panel: links are lightened toward white instead.
    link = page.eval_on_selector(".cbw-cite", "el => getComputedStyle(el).color")
    assert link != "rgb(64, 81, 181)"
    shot(page, "theme-material-slate")
    # Material's palette toggle sets the scheme on <body>.
    page.evaluate("document.body.dataset.mdColorScheme = 'default'")
    _wait_dark(page, False)
    assert page.evaluate(CONTRAST_AUDIT)["low"] == []


def test_any_dark_page_the_readers_system_theme_and_fixed_choices(page, server):
    # A site of another generator: its own background says it is dark.
    _look_page(page, server, css="body { background: #101418; color: #ddd; }", html=' data-theme="tokyo-night"')
    assert _is_dark(page)
    # Chosen on the script tag: a light widget and our own accent, whatever the page.
    _look_page(page, server, css="body { background: #101418; }", script='data-color-scheme="light" data-accent="none"')
    assert not _is_dark(page)
    assert _colour(page, ".cbw-launcher", "backgroundColor") == "rgb(35, 64, 142)"
    _look_page(page, server, script='data-accent="rebeccapurple"')
    assert _colour(page, ".cbw-launcher", "backgroundColor") == "rgb(102, 51, 153)"

    # A page that declares both schemes and paints no background of its own is shown in the system's.
    _look_page(page, server, css=":root { color-scheme: light dark; }")
    assert not _is_dark(page)
    page.emulate_media(color_scheme="dark")
    _wait_dark(page, True)
    page.emulate_media(color_scheme="light")
    _wait_dark(page, False)

    # The demo book follows the reader's system theme, and the widget follows the book, as the system changes.
    page.goto(server.url + "/")
    page.emulate_media(color_scheme="dark")
    _wait_dark(page, True)
    page.click(".cbw-launcher")
    assert _audit(page) >= 15
    shot(page, "theme-demo-book-dark")
    page.emulate_media(color_scheme="light")
    _wait_dark(page, False)
    assert page.evaluate(CONTRAST_AUDIT)["low"] == []


@contextlib.contextmanager
def _book_site() -> Iterator[tuple[str, dict[str, str]]]:
    """A book's own web server on 127.0.0.1 (another origin than the chat server's): its origin, and the pages it
    serves by path (filled in by the caller)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    pages: dict[str, str] = {}

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            body = pages[self.path].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    site = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{site.server_address[1]}", pages
    finally:
        site.shutdown()
        site.server_close()


# Element styles real books carry: Tailwind's preflight (Nextra and many other sites) and a classic theme's own.
HOST_ELEMENT_STYLES = """
*, ::before, ::after { box-sizing: content-box; border-width: 0; border-style: solid; border-color: #e5e7eb; }
html { font-size: 20px; } body { font-family: Georgia, serif; line-height: 2; color: #333; text-align: justify; }
h1, h2, h3 { font-size: inherit; font-weight: inherit; } a { color: red; text-decoration: inherit; }
ol, ul { list-style: none; margin: 0; padding: 0; } li { margin-bottom: 1em; }
button { text-transform: uppercase; letter-spacing: .1em; box-shadow: 0 0 0 2px red; min-width: 120px; height: 48px; }
p { margin: 0 0 2em; font-size: 1.2rem; text-indent: 2em; } blockquote { margin: 2em; font-size: 2em; }
pre { padding: 2em; background: yellow; white-space: pre-wrap; }
code { background: yellow; color: black; padding: .5em; border: 2px solid orange; font-family: monospace; }
textarea, input { font-size: 24px; background: pink; border: 3px solid green; padding: 1em; }
header { background: #222; height: 100px; } section { padding: 3em; max-width: 50%; } div { padding: 5px; }
span { font-weight: 900; } strong { font-weight: 400; } svg { display: block; width: 100%; height: auto; }
"""

# Every element of the widget (an icon's inside aside): its box and the styles a page could reach, in document order.
WIDGET_LOOK = """() => {
  const props = ['display', 'font-family', 'font-size', 'font-weight', 'font-style', 'line-height', 'color',
    'background-color', 'text-transform', 'letter-spacing', 'text-indent', 'text-align', 'text-decoration-line',
    'list-style-type', 'white-space', 'box-shadow', 'box-sizing', 'margin', 'padding', 'border-width', 'border-style'];
  const nodes = [document.querySelector('.cbw-launcher'), document.querySelector('.cbw-panel'),
                 ...document.querySelectorAll('.cbw-panel :not(svg *)')];
  return nodes.map((node) => {
    const style = getComputedStyle(node), box = node.getBoundingClientRect();
    return [node.tagName + '.' + node.getAttribute('class'), [box.x, box.y, box.width, box.height].map(Math.round),
            props.map((prop) => prop + ': ' + style.getPropertyValue(prop))];
  });
}"""


def _widget_look(page, server, css: str) -> list:
    """The widget's look on a page with ``css``, after an answer with a code block and its sources, with the
    "Not helpful" comment box and a selected passage's chip open."""
    _look_page(page, server, css=css)
    bubble = ask(page, "How do I delete old questions?")
    assert bubble.locator(".cbw-code-block").count() == 1
    bubble.locator('.cbw-vote[data-rating="down"]').click()
    page.wait_for_selector(".cbw-comment:not([hidden])")
    page.evaluate(SELECT_TEXT, ["main p", "Weather stations measure wind and rain.", True])
    page.click(".cbw-ask-selection")
    page.wait_for_selector(".cbw-selection:not([hidden])")
    page.evaluate("document.querySelector('.cbw-log').scrollTop = 0")
    return page.evaluate(WIDGET_LOOK)


def test_the_books_own_element_styles_do_not_reach_the_widget(page, server):
    plain = _widget_look(page, server, css="")
    page.evaluate("localStorage.clear()")
    hostile = _widget_look(page, server, css=HOST_ELEMENT_STYLES)
    shot(page, "host-styles")
    assert len(hostile) == len(plain) > 40
    for expected, seen in zip(plain, hostile, strict=True):
        assert seen == expected, f"{expected[0]} differs on a page with its own element styles"
    # What the reset must not take away: list numbers, bold, the title's weight and link underlines.
    look = {element[0]: element[2] for element in plain}
    assert "list-style-type: decimal" in look["OL.cbw-sources"]
    assert "font-weight: 700" in look["H2.cbw-title"]
    assert "text-decoration-line: underline" in look["A.cbw-source-title"]


def test_one_script_tag_on_a_book_of_another_origin(page):
    """A book on its own site embeds the widget with nothing but its script tag: the widget talks to the server it
    came from (CORS lets the book's origin in) and adds its stylesheet, so it never shows unstyled."""
    with _book_site() as (book, pages):
        app = AppServer(database=connection.settings_dict["NAME"], env={"CORS_ALLOWED_ORIGINS": book})
        tag = f'<script src="{app.url}/static/chat/widget.js" defer></script>'
        # The tag twice, as a site that adds it in its config and in a template would: one widget.
        pages["/a-chapter"] = (
            f'<!doctype html><html><head><meta charset="utf-8"><title>A chapter</title>{tag}</head><body>'
            f"<h1>A chapter</h1>{tag}</body></html>"
        )
        with app.running():
            page.goto(f"{book}/a-chapter")
            page.wait_for_selector(".cbw-launcher")
            assert _colour(page, ".cbw-launcher", "position") == "fixed"
            assert page.locator(".cbw-launcher").count() == 1
            links = page.eval_on_selector_all('link[rel="stylesheet"]', "links => links.map((link) => link.href)")
            assert links == [f"{app.url}/static/chat/widget.css"]
            with page.expect_request(lambda r: r.url.startswith(app.url + "/api/chat/sessions/")) as sent:
                bubble = ask(page, "How do I add a document?")
            assert sent.value.all_headers()["origin"] == book
            assert bubble.get_attribute("data-state") == "answered"
            cite = bubble.locator("a.cbw-cite").first.get_attribute("href")
            assert "/docs/guide/02-getting-started.md#add-a-document" in cite


def test_a_models_markdown_is_shown_formatted_and_never_as_html(llm_page, llm_app, model):
    model.reply = (
        "**Tower Bridge** opened in *1894* [1].\n\n"
        "## How it opens\n"
        "- It is a `bascule` bridge [1]\n"
        "- See [the bridge's site](https://example.org/tower_(London)) or [this](javascript:alert(1))\n\n"
        "1. Raise the bascules\n2. Let the ship through\n\n"
        "<img src=x onerror=alert(1)> 5 * 3 stays as written.\n\n"
        # Escaped, as the offline answerer quotes a book: no emphasis, and \[2\] is no citation.
        '\\*.example.com or \\["\\*"\\] \\[2\\] \\_\\_version\\_\\_ C:\\\\temp'
    )
    model.token_delay = 0.05
    _ask_the_model(llm_page, llm_app, "When did Tower Bridge open?")
    # Formatted while it streams, its citation already linked to the source retrieval sent first.
    llm_page.wait_for_function(
        """() => { const b = document.querySelector('.cbw-assistant');
                   return b.dataset.state === 'streaming' && b.querySelector('.cbw-answer .cbw-cite'); }"""
    )
    assert llm_page.locator(".cbw-assistant").get_attribute("data-state") == "streaming"
    assert llm_page.locator(".cbw-assistant .cbw-answer strong").inner_text() == "Tower Bridge"
    bubble = llm_page.locator(".cbw-assistant")
    llm_page.wait_for_function("el => el.dataset.state === 'answered'", arg=bubble.element_handle())
    answer = bubble.locator(".cbw-answer")
    assert answer.locator("strong").inner_text() == "Tower Bridge"
    assert answer.locator("em").inner_text() == "1894"
    assert answer.locator(".cbw-heading").inner_text() == "How it opens"
    assert answer.locator("ul > li").all_inner_texts()[0].startswith("It is a bascule bridge")
    assert answer.locator("code.cbw-inline-code").inner_text() == "bascule"
    assert answer.locator("ol > li").all_inner_texts() == ["Raise the bascules", "Let the ship through"]
    assert answer.locator(".cbw-cite").count() == 2  # [1] in bold text and in a list item alike
    # Only an http(s) link becomes one; the javascript: one stays text, and HTML is text too.
    links = answer.locator("a.cbw-link")
    assert links.count() == 1 and links.get_attribute("href") == "https://example.org/tower_(London)"
    assert "or this" in answer.inner_text() and "javascript" not in answer.inner_text()
    assert answer.locator("img").count() == 0
    assert (
        "this" in answer.inner_text() and "<img src=x onerror=alert(1)> 5 * 3 stays as written." in answer.inner_text()
    )
    assert "**" not in answer.inner_text() and "##" not in answer.inner_text()
    assert answer.locator("p").last.inner_text() == '*.example.com or ["*"] [2] __version__ C:\\temp'
    shot(llm_page, "markdown")


CODE_REPLY = (
    "Install it with this script [1]:\n\n"
    '```bash title="install.sh"\npip install tower-bridge\n'
    + "".join(f"echo step {n}\n" for n in range(1, 21))
    + "```\n\nThen:\n\n1. Check it\n   ~~~\n   bridge --status\n   ~~~\n\n"
    + "And if a raise stops half-way:\n```python\nbridge.lower()"
)


def test_code_blocks_show_as_code_while_they_stream_and_copy_whole(llm_page, llm_app, model):
    model.reply = CODE_REPLY
    model.token_delay = 0.04
    bubble = _ask_the_model(llm_page, llm_app, "How do I install the bridge?")
    # Mid-block, before its closing fence has come: code already, without the fence and without Copy yet.
    llm_page.wait_for_function(
        "el => el.dataset.state === 'streaming' && (el.querySelector('pre.cbw-code') || {}).textContent"
        "?.includes('echo step 3')",
        arg=bubble.element_handle(),
    )
    streaming = bubble.evaluate(
        """el => ({ state: el.dataset.state, text: el.querySelector('.cbw-answer').textContent,
                    title: el.querySelector('.cbw-code-title').textContent,
                    copy: el.querySelectorAll('.cbw-copy').length })"""
    )
    assert streaming["state"] == "streaming" and "echo step 20" not in streaming["text"]
    assert "```" not in streaming["text"] and "title=" not in streaming["text"]
    assert (streaming["title"], streaming["copy"]) == ("install.sh", 0)

    llm_page.wait_for_function("el => el.dataset.state === 'answered'", arg=bubble.element_handle())
    blocks = bubble.locator(".cbw-code-block")
    assert blocks.locator(".cbw-code-title").all_inner_texts() == ["install.sh", "", ""]
    script = "pip install tower-bridge\n" + "".join(f"echo step {n}\n" for n in range(1, 20)) + "echo step 20"
    # A tilde fence indented under a list item loses the item's indentation; a fence never closed runs to the end.
    assert [code.strip() for code in blocks.locator("pre.cbw-code > code").all_text_contents()] == [
        script,
        "bridge --status",
        "bridge.lower()",
    ]
    answer = bubble.locator(".cbw-answer").inner_text()
    assert "```" not in answer and "~~~" not in answer
    # Read out a block at a time, without the buttons' labels.
    spoken = llm_page.locator(".cbw-sr-only[aria-live]").text_content()
    assert spoken.startswith("Install it with this script [1]:\ninstall.sh\npip install tower-bridge\necho step 1\n")
    assert "Then:\nCheck it\nbridge --status\n" in spoken and "Copy" not in spoken

    blocks.nth(0).locator(".cbw-copy").click()
    assert llm_page.evaluate("navigator.clipboard.readText()") == script
    assert blocks.nth(0).locator(".cbw-copy").inner_text() == "Copied"
    assert llm_page.locator(".cbw-sr-only[aria-live]").text_content() == "Code copied to the clipboard."
    llm_page.wait_for_function(
        "el => el.textContent === 'Copy'", arg=blocks.nth(0).locator(".cbw-copy").element_handle()
    )
    shot(llm_page, "code-copy")

    # A book served over plain http (not localhost) has no Clipboard API: the copy goes through a selection.
    llm_page.evaluate(
        "window.__clipboard = navigator.clipboard;"
        "Object.defineProperty(navigator, 'clipboard', { value: undefined, configurable: true })"
    )
    blocks.nth(1).locator(".cbw-copy").click()
    assert llm_page.evaluate("window.__clipboard.readText()") == "bridge --status"
    assert blocks.nth(1).locator(".cbw-copy").inner_text() == "Copied"
    assert llm_page.evaluate("document.activeElement.className") == "cbw-copy"


def test_on_a_phone_the_panel_takes_the_screen(page, server):
    page.set_viewport_size({"width": 375, "height": 667})
    page.goto(server.url + "/")
    page.click(".cbw-launcher")
    box = page.locator("#cbw-panel").bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 375, 667)
    assert page.locator(".cbw-launcher").is_hidden()
    bubble = ask(page, "How do I add a document?")
    assert bubble.get_attribute("data-state") == "answered"
    assert page.locator(".cbw-input").is_visible() and page.locator(".cbw-send").is_visible()
    shot(page, "phone")
    # Covering the page, the panel is a modal dialog: Tab and Shift+Tab cycle inside it.
    assert page.get_attribute("#cbw-panel", "aria-modal") == "true"
    inside = "() => document.getElementById('cbw-panel').contains(document.activeElement)"
    page.focus(".cbw-input")
    for _ in range(12):
        page.keyboard.press("Tab")
        assert page.evaluate(inside)
    page.focus(".cbw-reset")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.className") == "cbw-send"
    # Beside the page on a wider screen it is not: Tab leaves it.
    page.set_viewport_size({"width": 1200, "height": 800})
    page.wait_for_function("() => !document.getElementById('cbw-panel').hasAttribute('aria-modal')")
    page.focus(".cbw-send")
    page.keyboard.press("Tab")
    assert not page.evaluate(inside)
    page.set_viewport_size({"width": 375, "height": 667})
    page.click(".cbw-close")
    assert page.locator(".cbw-launcher").is_visible()


def test_stop_ends_a_streaming_answer_and_the_model_request_with_it(llm_page, llm_app, model):
    model.reply = "Tower Bridge opened in 1894 [1]. " + " ".join(["More about its bascules."] * 40)
    model.token_delay = 0.1
    bubble = _ask_the_model(llm_page, llm_app, "When did Tower Bridge open?")
    llm_page.wait_for_function(
        "el => el.dataset.state === 'streaming' && el.querySelector('.cbw-answer').textContent.includes('1894')",
        arg=bubble.element_handle(),
    )
    assert llm_page.locator(".cbw-send").is_hidden()
    llm_page.click(".cbw-stop")
    llm_page.wait_for_function("el => el.dataset.state === 'stopped'", arg=bubble.element_handle())
    assert bubble.locator(".cbw-state").inner_text().lower() == "stopped"
    kept = bubble.locator(".cbw-answer").inner_text()
    assert "1894" in kept and kept.count("bascules") < 40  # what had arrived stays; the rest never came
    assert bubble.locator(".cbw-feedback").count() == 0
    assert llm_page.locator(".cbw-stop").is_hidden() and llm_page.locator(".cbw-send").is_enabled()
    # The server cancelled the model's request: the fake model saw its stream closed, not finished.
    deadline = time.monotonic() + 10
    while model.streams_aborted == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (model.streams_aborted, model.streams_finished) == (1, 0)
    shot(llm_page, "stopped")

    # The next question is answered as usual (the stopped one was not kept: a follow-up could not lean on it).
    model.token_delay = 0.0
    model.reply = "It opened in 1894 [1]."
    answered = ask(llm_page, "When did Tower Bridge open to traffic?")
    assert answered.get_attribute("data-state") == "answered"
