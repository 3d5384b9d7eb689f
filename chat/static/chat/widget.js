/* Chatbot widget: add <script src="https://chat.example.org/static/chat/widget.js" defer></script> to any page. It
   talks to the server it was loaded from and adds its stylesheet from beside it. Optional attributes:
   data-api-base (another server; "" for the page's own), data-api-key, data-title, data-page-context="off",
   data-color-scheme="light|dark" (default auto), data-accent="<colour>|none" (default the book's) and
   data-stylesheet="off". Vanilla JavaScript; no build step.
   Model and document text are always inserted as text (textContent), never as HTML. */
(function () {
  "use strict";
  // One widget, even where a site adds the tag twice.
  if (window.__chatbotWidget) return;
  window.__chatbotWidget = true;
  var script = document.currentScript;
  // The server the script came from, unless data-api-base names another ("" is the page's own origin).
  var API = (script && script.dataset.apiBase !== undefined ? script.dataset.apiBase : scriptOrigin()).replace(/\/$/, "");
  var KEY = (script && script.dataset.apiKey) || "";
  var TITLE = (script && script.dataset.title) || "Ask the book";
  // The page the reader is on goes with every question, so answers favour it; data-page-context="off" opts out.
  var PAGE_CONTEXT = !(script && script.dataset.pageContext === "off");
  var STORAGE = "chatbot.session:" + (API || location.origin);

  var state = { sessionId: localStorage.getItem(STORAGE), selected: "", busy: false, lastMessage: null, asking: null };

  function scriptOrigin() {
    try {
      return script && script.src ? new URL(script.src, location.href).origin : "";
    } catch (invalid) {
      return "";
    }
  }

  // The stylesheet beside the script, unless the page links it already or styles the widget itself; then
  // ``ready`` once it has loaded (or failed), so the widget never shows unstyled.
  function withStylesheet(ready) {
    var href = script && script.src ? script.src.replace(/widget\.js([?#].*)?$/, "widget.css") : "";
    var links = document.querySelectorAll('link[rel~="stylesheet"]');
    var linked = Array.prototype.some.call(links, function (link) { return /\/widget\.css([?#]|$)/.test(link.href); });
    if (!href || href === script.src || linked || script.dataset.stylesheet === "off") return ready();
    var sheet = el("link", { rel: "stylesheet", href: href });
    sheet.addEventListener("load", ready);
    sheet.addEventListener("error", ready);
    // In <body>, beside the widget: sites that swap <head> on navigation (Material for MkDocs' instant
    // loading) would drop it from there.
    document.body.appendChild(sheet);
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text) node.textContent = text;
    return node;
  }

  // ---- the panel ----
  var launcher = el("button", { type: "button", class: "cbw-launcher", "aria-expanded": "false", "aria-controls": "cbw-panel" }, TITLE);
  var panel = el("section", { id: "cbw-panel", class: "cbw-panel", role: "dialog", "aria-label": TITLE, hidden: "" });
  var header = el("header", { class: "cbw-header" });
  header.appendChild(el("h2", { class: "cbw-title" }, TITLE));
  var resetButton = el("button", { type: "button", class: "cbw-reset" }, "New conversation");
  var closeButton = el("button", { type: "button", class: "cbw-close", "aria-label": "Close chat" }, "×");
  header.appendChild(resetButton);
  header.appendChild(closeButton);
  var log = el("div", { class: "cbw-log", role: "log", "aria-live": "polite", "aria-relevant": "additions" });
  var announcer = el("p", { class: "cbw-sr-only", "aria-live": "assertive" });
  var chip = el("div", { class: "cbw-selection", hidden: "" });
  var chipText = el("blockquote", { class: "cbw-selection-text" });
  var chipClear = el("button", { type: "button", class: "cbw-selection-clear", "aria-label": "Remove the selected passage" }, "×");
  chip.appendChild(el("span", { class: "cbw-selection-label" }, "Asking about:"));
  chip.appendChild(chipText);
  chip.appendChild(chipClear);
  var form = el("form", { class: "cbw-form" });
  var input = el("textarea", { class: "cbw-input", rows: "2", "aria-label": "Your question", placeholder: "Ask a question… (Enter to send)" });
  var send = el("button", { type: "submit", class: "cbw-send" }, "Send");
  // While an answer is on its way: stop it (the server then cancels the model's request and keeps nothing).
  var stop = el("button", { type: "button", class: "cbw-stop", hidden: "" }, "Stop");
  form.appendChild(input);
  form.appendChild(send);
  form.appendChild(stop);
  [header, log, chip, form, announcer].forEach(function (node) { panel.appendChild(node); });
  var askSelection = el("button", { type: "button", class: "cbw-ask-selection", hidden: "" }, "Ask about this");

  // ---- the book's look ----
  // The widget wears the book's theme. data-color-scheme="light" or "dark" fixes the scheme; "auto" (the default)
  // follows the page: Docusaurus's <html data-theme>, Material for MkDocs' <body data-md-color-scheme>, else the
  // page's own background. data-accent: a CSS colour, "auto" (the default: the book's primary colour, Docusaurus's
  // --ifm-color-primary or Material's --md-primary-fg-color) or "none" (ours).
  var SCHEME = (script && script.dataset.colorScheme) || "auto";
  var ACCENT = (script && script.dataset.accent) || "auto";
  var THEMED = [launcher, panel, askSelection];
  var WHITE = [255, 255, 255, 1], BLACK = [0, 0, 0, 1];
  var canvas = document.createElement("canvas");
  canvas.width = canvas.height = 1;
  var paint = canvas.getContext("2d", { willReadFrequently: true });

  // A CSS colour as [r, g, b, alpha 0-1], or null when it is none. A canvas reads every colour syntax the browser
  // knows (names, hex, rgb, hsl, oklch...), where computed styles would hand some back unconverted.
  function rgba(color) {
    if (!color || !paint) return null;
    paint.clearRect(0, 0, 1, 1);
    paint.fillStyle = "rgba(0, 0, 0, 0)";
    paint.fillStyle = color; // an invalid colour is ignored, leaving the transparent one
    paint.fillRect(0, 0, 1, 1);
    var d = paint.getImageData(0, 0, 1, 1).data;
    return d[3] ? [d[0], d[1], d[2], d[3] / 255] : null;
  }

  // WCAG 2 relative luminance and contrast ratio.
  function luminance(c) {
    var v = c.slice(0, 3).map(function (x) {
      x /= 255;
      return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  }
  function contrast(a, b) {
    var x = luminance(a), y = luminance(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  }
  function isDark(color) { return contrast(color, WHITE) > contrast(color, BLACK); }

  function pageIsDark() {
    if (SCHEME === "dark" || SCHEME === "light") return SCHEME === "dark";
    var theme = document.documentElement.getAttribute("data-theme");
    if (theme === "dark" || theme === "light") return theme === "dark";
    var material = document.body.getAttribute("data-md-color-scheme");
    if (material === "slate" || material === "default") return material === "slate";
    var pageColors = [document.body, document.documentElement];
    for (var i = 0; i < pageColors.length; i++) {
      var background = rgba(getComputedStyle(pageColors[i]).backgroundColor);
      if (background && background[3] > 0.5) return isDark(background);
    }
    // No background of its own: the browser paints the canvas dark only for a page that declares a dark scheme.
    var meta = document.querySelector('meta[name="color-scheme"]');
    var declared = (getComputedStyle(document.documentElement).colorScheme || "") + " " + (meta ? meta.content : "");
    if (!/\bdark\b/.test(declared)) return false;
    return !/\blight\b/.test(declared) || !!(window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches);
  }

  function bookAccent() {
    if (ACCENT === "none") return null;
    if (ACCENT !== "auto") return rgba(ACCENT);
    var value = getComputedStyle(document.documentElement).getPropertyValue("--ifm-color-primary").trim() ||
      getComputedStyle(document.body).getPropertyValue("--md-primary-fg-color").trim();
    return rgba(value);
  }

  function applyLook() {
    var dark = pageIsDark();
    THEMED.forEach(function (node) {
      node.classList.toggle("cbw-dark", dark);
      ["--cbw-accent", "--cbw-on-accent", "--cbw-link"].forEach(function (name) { node.style.removeProperty(name); });
    });
    var accent = bookAccent();
    if (!accent || accent[3] < 1) return;
    // White text on the book's colour, as its own buttons have, unless that does not read (a light teal, say).
    var onAccent = contrast(accent, WHITE) >= 4.5 || isDark(accent) ? "#fff" : "#111";
    var style = getComputedStyle(panel);
    var surfaces = ["--cbw-bg", "--cbw-assistant", "--cbw-warn-bg"].map(function (name) {
      return rgba(style.getPropertyValue(name));
    }).filter(Boolean);
    var link = readable(accent, { surfaces: surfaces, toward: dark ? WHITE : BLACK });
    THEMED.forEach(function (node) {
      node.style.setProperty("--cbw-accent", css(accent));
      node.style.setProperty("--cbw-on-accent", onAccent);
      node.style.setProperty("--cbw-link", css(link));
    });
  }

  function css(color) { return "rgb(" + color.slice(0, 3).map(Math.round).join(", ") + ")"; }

  // The book's colour as link text: as it is where it reads on every surface links sit on (WCAG AA, 4.5:1),
  // else mixed toward black (light panel) or white (dark panel) just enough, so the hue stays the book's.
  function readable(color, options) {
    for (var step = 0; step <= 10; step++) {
      var mixed = color.map(function (value, i) { return i < 3 ? value + (options.toward[i] - value) * step / 10 : 1; });
      var worst = Math.min.apply(null, options.surfaces.map(function (surface) { return contrast(mixed, surface); }));
      if (worst >= 4.5) return mixed;
    }
    return options.toward;
  }

  function followLook() {
    var settle = null;
    function changed() {
      applyLook();
      // A theme switch can fade the page's colours in; look again once it has settled.
      clearTimeout(settle);
      settle = setTimeout(applyLook, 400);
    }
    var observer = new MutationObserver(changed);
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme", "class", "style"] });
    observer.observe(document.body, {
      attributes: true, attributeFilter: ["data-md-color-scheme", "data-md-color-primary", "class", "style"],
    });
    if (window.matchMedia) {
      var query = matchMedia("(prefers-color-scheme: dark)");
      if (query.addEventListener) query.addEventListener("change", changed);
    }
  }

  function mount() {
    document.body.appendChild(launcher);
    document.body.appendChild(panel);
    document.body.appendChild(askSelection);
    applyLook();
    followLook();
    if (state.sessionId) restore();
  }

  function openPanel() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    syncModal();
    input.focus();
  }

  // On a phone the panel covers the page, so it is a modal dialog there: screen readers leave the page out and
  // Tab cycles inside the panel. Beside a page on a wider screen, it is not.
  var PHONE = window.matchMedia ? matchMedia("(max-width: 520px)") : null;
  function syncModal() {
    if (PHONE && PHONE.matches) panel.setAttribute("aria-modal", "true");
    else panel.removeAttribute("aria-modal");
  }
  if (PHONE && PHONE.addEventListener) PHONE.addEventListener("change", syncModal);

  function trapTab(event) {
    if (event.key !== "Tab" || !panel.hasAttribute("aria-modal")) return;
    var focusable = Array.prototype.filter.call(
      panel.querySelectorAll("button, textarea, input, a[href]"),
      function (node) { return !node.disabled && node.getClientRects().length > 0; }
    );
    if (!focusable.length) return;
    var first = focusable[0], last = focusable[focusable.length - 1];
    if (event.shiftKey ? document.activeElement === first : document.activeElement === last) {
      event.preventDefault();
      (event.shiftKey ? last : first).focus();
    }
  }

  function closePanel() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  // ---- talking to the API ----
  function headers(extra) {
    var h = { "Content-Type": "application/json" };
    if (KEY) h.Authorization = "Bearer " + KEY;
    Object.keys(extra || {}).forEach(function (k) { h[k] = extra[k]; });
    return h;
  }

  // An error response as {status, code, retryAfter}: its body is JSON, or one SSE `error` event.
  function failure(response) {
    return response.text().then(function (text) {
      var code = "error";
      try {
        code = JSON.parse(text).error.code || code;
      } catch (notJson) {
        try {
          parseEvents(text + "\n\n", function (name, data) { code = (data.error || data).code || code; });
        } catch (ignored) { /* keep "error" */ }
      }
      throw { status: response.status, code: code, retryAfter: response.headers.get("Retry-After") };
    });
  }

  function newSession() {
    return fetch(API + "/api/chat/sessions/", { method: "POST", headers: headers() }).then(function (response) {
      if (!response.ok) return failure(response);
      return response.json();
    }).then(function (body) {
      state.sessionId = body.session_id;
      localStorage.setItem(STORAGE, state.sessionId);
      return state.sessionId;
    });
  }

  function forgetSession() {
    state.sessionId = null;
    localStorage.removeItem(STORAGE);
  }

  function restore() {
    fetch(API + "/api/chat/sessions/" + encodeURIComponent(state.sessionId) + "/", { headers: headers() })
      .then(function (response) {
        if (response.status === 404 || response.status === 400) { forgetSession(); return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        if (!body) return;
        body.turns.forEach(function (turn) {
          if (turn.role === "user") {
            addUser(turn.content, turn.data && turn.data.selected_text);
          } else {
            var bubble = addAssistant();
            finish(bubble, {
              answer: turn.content, status: turn.data.status, sources: turn.data.sources || [], answer_id: turn.data.answer_id,
            }, true);
          }
        });
      })
      .catch(function () { /* offline: the conversation shows again on the next load */ });
  }

  function parseEvents(buffer, onEvent) {
    var parts = buffer.split("\n\n");
    var rest = parts.pop();
    parts.forEach(function (block) {
      var name = "message", data = "";
      block.split("\n").forEach(function (line) {
        if (line.indexOf("event: ") === 0) name = line.slice(7);
        else if (line.indexOf("data: ") === 0) data += line.slice(6);
      });
      if (data) onEvent(name, JSON.parse(data));
    });
    return rest;
  }

  function ask(message, selected, bubble, retried) {
    var ready = state.sessionId ? Promise.resolve(state.sessionId) : newSession();
    return ready.then(function (sessionId) {
      var body = { message: message };
      if (selected) body.selected_text = selected;
      if (PAGE_CONTEXT) body.page = { url: location.href, title: document.title };
      return fetch(API + "/api/chat/sessions/" + encodeURIComponent(sessionId) + "/messages/", {
        method: "POST", headers: headers({ Accept: "text/event-stream" }), body: JSON.stringify(body),
        signal: state.asking.signal,
      });
    }).then(function (response) {
      if (response.status === 404 && !retried) {
        // The session expired on the server: start a new one quietly and ask again.
        forgetSession();
        return ask(message, selected, bubble, true);
      }
      if (!response.ok) return failure(response);
      setState(bubble, "streaming");
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "", answerText = bubble.querySelector(".cbw-answer"), finished = false;
      // Formatted as it streams, its [n] linked to the sources retrieval sent first.
      var streamed = "", bySource = {};
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) {
            if (!finished) throw { status: 0, code: "stream_interrupted" };
            return;
          }
          var before = streamed;
          buffer = parseEvents(buffer + decoder.decode(chunk.value, { stream: true }), function (name, data) {
            if (name === "sources") {
              (data.sources || []).forEach(function (source) { bySource[source.index] = source; });
            } else if (name === "token") {
              streamed += data.text;
            } else if (name === "done") {
              finished = true;
              finish(bubble, data);
            } else if (name === "error") {
              finished = true;
              throw { status: 503, code: data.error.code };
            }
          });
          // Once per read, however many tokens it brought ("done" has rendered the whole reply).
          if (!finished && streamed !== before) {
            answerText.textContent = "";
            appendAnswer(answerText, streamed, bySource, true);
          }
          return pump();
        });
      }
      return pump();
    });
  }

  // ---- rendering ----
  function addUser(text, selected) {
    var item = el("div", { class: "cbw-msg cbw-user" });
    if (selected) item.appendChild(el("blockquote", { class: "cbw-quote" }, selected));
    item.appendChild(el("p", {}, text));
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function addAssistant() {
    var item = el("div", { class: "cbw-msg cbw-assistant is-thinking" });
    item.appendChild(el("p", { class: "cbw-state" }, "Thinking…"));
    item.appendChild(el("div", { class: "cbw-answer" }));
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  var STATES = ["is-thinking", "is-streaming", "is-answered", "is-no-answer", "is-selection-only", "is-rate-limited", "is-waiting", "is-error", "is-stopped"];
  var LABELS = {
    thinking: "Thinking…",
    streaming: "Answering…",
    answered: "",
    "no-answer": "Not covered in this book",
    "selection-only": "The selected passage does not answer this",
    "rate-limited": "Too many questions at once",
    waiting: "Many readers at once",
    error: "The assistant is unavailable",
    stopped: "Stopped",
  };

  function setState(bubble, name) {
    STATES.forEach(function (c) { bubble.classList.remove(c); });
    bubble.classList.add("is-" + name);
    bubble.dataset.state = name;
    bubble.querySelector(".cbw-state").textContent = LABELS[name];
  }

  // Only http(s) and relative links ever become an href (a source's url is built by the server with the book's
  // site rules: its route and section anchor).
  function safeHref(url) {
    if (!url) return null;
    try {
      var parsed = new URL(url, window.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (error) {
      return null;
    }
  }

  // A source's title, its section and, for a PDF's page (its link opens the file at #page=N), the page.
  function sourceLabel(s) {
    var page = /#page=(\d+)$/.exec(s.url || "");
    return s.title + (s.section ? " — " + s.section.split(" > ").pop() : "") + (page ? ", p. " + page[1] : "");
  }

  // ---- feedback: thumbs up / down under each answer, one vote per answer (a second click changes it) ----
  function sendFeedback(answerId, rating, comment) {
    var body = { answer_id: answerId, rating: rating };
    if (comment) body.comment = comment;
    return fetch(API + "/api/chat/sessions/" + encodeURIComponent(state.sessionId) + "/feedback/", {
      method: "POST", headers: headers(), body: JSON.stringify(body),
    }).then(function (response) {
      if (response.ok) return response.json();
      return response.json().catch(function () { return {}; }).then(function (error) {
        throw { code: (error.error && error.error.code) || "error", retryAfter: response.headers.get("Retry-After") };
      });
    });
  }

  // A thumb drawn as SVG (no emoji font needed); the screen reader reads the button's label instead.
  var THUMB = "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z";
  function thumb(pointingDown) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", THUMB);
    path.setAttribute("fill", "currentColor");
    if (pointingDown) path.setAttribute("transform", "rotate(180 12 12)");
    svg.appendChild(path);
    return svg;
  }

  function feedbackBar(answerId) {
    var bar = el("div", { class: "cbw-feedback", role: "group", "aria-label": "Was this answer helpful?" });
    var up = el("button", { type: "button", class: "cbw-vote", "data-rating": "up", "aria-pressed": "false", "aria-label": "Helpful", title: "Helpful" });
    var down = el("button", { type: "button", class: "cbw-vote", "data-rating": "down", "aria-pressed": "false", "aria-label": "Not helpful", title: "Not helpful" });
    up.appendChild(thumb(false));
    down.appendChild(thumb(true));
    var note = el("form", { class: "cbw-comment", hidden: "" });
    var comment = el("input", { type: "text", class: "cbw-comment-input", maxlength: "500", "aria-label": "What was wrong or missing? (optional)", placeholder: "What was wrong or missing? (optional)" });
    var sendComment = el("button", { type: "submit", class: "cbw-comment-send" }, "Send");
    note.appendChild(comment);
    note.appendChild(sendComment);
    bar.appendChild(up);
    bar.appendChild(down);
    bar.appendChild(note);

    function vote(button) {
      var rating = button.dataset.rating;
      sendFeedback(answerId, rating).then(function () {
        [up, down].forEach(function (b) { b.setAttribute("aria-pressed", b === button ? "true" : "false"); });
        bar.dataset.vote = rating;
        note.hidden = rating !== "down";
        announcer.textContent = rating === "down"
          ? "Thanks. You can say what was wrong or missing, then press Send."
          : "Thanks for your feedback.";
        if (rating === "down") comment.focus();
      }).catch(function (error) {
        announcer.textContent = "Your feedback could not be sent (" + error.code + ").";
      });
    }
    up.addEventListener("click", function () { vote(up); });
    down.addEventListener("click", function () { vote(down); });
    note.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = comment.value.trim();
      if (!text) return;
      sendFeedback(answerId, "down", text).then(function () {
        note.hidden = true;
        bar.dataset.commented = "true";
        announcer.textContent = "Thanks, your comment was sent.";
        down.focus();
      }).catch(function (error) {
        announcer.textContent = "Your comment could not be sent (" + error.code + ").";
      });
    });
    return bar;
  }

  // Fenced code blocks as CommonMark reads them: a fence of three or more backticks or tildes (indented or not),
  // its info string (language, then title="file name" as Docusaurus and MkDocs write it), closed by a fence of the
  // same character at least as long; a fence never closed runs to the end of the answer.
  var FENCE_OPEN = /(^|\n)([ \t]*)(`{3,}|~{3,})([^\n`]*)(\n|$)/g;
  var CODE_TITLE = /(?:^|\s)title=(?:"([^"]*)"|'([^']*)')/;

  // The answer's text with its code blocks as <pre><code> and its [n] as links to the sources; all as text nodes.
  // While it streams, a block whose closing fence has not arrived yet is shown as code, without its Copy button.
  function appendAnswer(answer, text, bySource, streaming) {
    var last = 0, match;
    FENCE_OPEN.lastIndex = 0;
    while ((match = FENCE_OPEN.exec(text))) {
      var start = match.index + match[1].length, body = FENCE_OPEN.lastIndex, end = null;
      if (match[5]) {
        var close = new RegExp("\\n[ \\t]*" + match[3] + "[" + match[3][0] + "]*[ \\t]*(?=\\n|$)", "g");
        close.lastIndex = body - 1; // the newline before an empty block's closing fence is the opener's own
        end = close.exec(text);
      }
      appendProse(answer, trimLines(text.slice(last, start)), bySource);
      var code = text.slice(body, end ? Math.max(end.index, body) : text.length);
      appendCode(answer, dedent(code, match[2].length), match[4], !(streaming && !end));
      if (!end) return;
      last = FENCE_OPEN.lastIndex = end.index + end[0].length;
    }
    appendProse(answer, last ? trimLines(text.slice(last)) : text, bySource);
  }

  // Code inside an indented fence (a list item's) loses as much indentation as its fence has.
  function dedent(code, width) {
    if (!width) return code;
    var indent = new RegExp("^[ \\t]{0," + width + "}", "gm");
    return code.replace(indent, "");
  }

  // A code block under a bar with its title (a file name, when the book gives one) and, once complete, Copy.
  function appendCode(answer, code, info, complete) {
    var block = answer.appendChild(el("div", { class: "cbw-code-block" }));
    var bar = block.appendChild(el("div", { class: "cbw-code-bar" }));
    var title = CODE_TITLE.exec(info);
    bar.appendChild(el("span", { class: "cbw-code-title" }, title ? title[1] || title[2] : ""));
    if (complete) bar.appendChild(copyButton(code));
    block.appendChild(el("pre", { class: "cbw-code" })).appendChild(el("code", {}, code));
  }

  function copyButton(code) {
    var button = el("button", { type: "button", class: "cbw-copy", "aria-label": "Copy code" }, "Copy");
    var timer = null;
    button.addEventListener("click", function () {
      copyText(code, button).then(function () {
        button.textContent = "Copied";
        announcer.textContent = "Code copied to the clipboard.";
      }, function () {
        // No clipboard at all: select the code, so the reader's own Ctrl+C copies it.
        var range = document.createRange();
        range.selectNodeContents(button.parentNode.nextSibling);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        button.textContent = "Selected";
        announcer.textContent = "The code is selected: press Ctrl+C to copy it.";
      });
      clearTimeout(timer);
      timer = setTimeout(function () { button.textContent = "Copy"; }, 2000);
    });
    return button;
  }

  // The Clipboard API exists only in secure contexts (https, localhost); a book served over plain http copies
  // through a selected, hidden text area instead, and focus goes back to the button.
  function copyText(text, button) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    var area = el("textarea", { class: "cbw-sr-only", readonly: "", "aria-hidden": "true" });
    area.value = text;
    panel.appendChild(area);
    area.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
    area.remove();
    button.focus();
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  // What an answer says, for the screen-reader announcement: a line per paragraph, list item, code title and
  // code block (textContent alone runs them together), without the Copy buttons' labels.
  function spokenText(answer) {
    var copy = answer.cloneNode(true);
    Array.prototype.forEach.call(copy.querySelectorAll(".cbw-copy"), function (button) { button.remove(); });
    Array.prototype.forEach.call(copy.querySelectorAll("p, li, pre, .cbw-code-title"), function (block) {
      block.appendChild(document.createTextNode("\n"));
    });
    return copy.textContent.replace(/\n{2,}/g, "\n").trim();
  }

  // The Markdown a language model writes, as elements and text nodes (never HTML): paragraphs, headings (as a
  // bold line), bulleted and numbered lists (the offline answerer's "•" items too), **bold**, *emphasis*,
  // `code` and [links](https://...) (http(s) and relative only: any other link is shown as its text alone; a URL
  // may hold one level of parentheses, as Wikipedia's do), and backslash escapes (\* is an asterisk: the offline
  // answerer's quotes escape what the book wrote, "*.example.com", so it never turns into markup or a citation).
  var LIST_ITEM = /^(\s*)([-*+•]|\d{1,3}[.)])\s+(.*)$/;
  var HEADING = /^#{1,6}\s+(.*?)(?:\s+#+)?\s*$/;
  var INLINE = /(`+)(.+?)\1|\*\*(\S(?:.*?\S)?)\*\*|\*(\S(?:[^*]*?\S)?)\*|\[([^\]]+)\]\(((?:[^()\s]|\([^()\s]*\))+)\)|\\([!-\/:-@\[-\x60{-~])/;

  function appendProse(answer, text, bySource) {
    var list = null, paragraph = null;
    text.split("\n").forEach(function (line) {
      var item = LIST_ITEM.exec(line), heading = HEADING.exec(line);
      if (item) {
        var ordered = /\d/.test(item[2]);
        if (!list || list.ordered !== ordered) {
          list = { node: el(ordered ? "ol" : "ul", { class: "cbw-list" }), ordered: ordered };
          answer.appendChild(list.node);
        }
        var entry = el("li", item[1].length >= 2 ? { class: "cbw-nested" } : {});
        if (ordered) entry.value = parseInt(item[2], 10);
        appendInline(entry, item[3], bySource);
        list.node.appendChild(entry);
        paragraph = null;
        return;
      }
      list = null;
      if (!line.trim()) {
        paragraph = null;
      } else if (heading) {
        appendInline(answer.appendChild(el("p", { class: "cbw-heading" })), heading[1], bySource);
        paragraph = null;
      } else {
        // A single line break inside a paragraph stays one (the answer keeps its line breaks).
        if (paragraph) paragraph.appendChild(document.createTextNode("\n"));
        else paragraph = answer.appendChild(el("p", { class: "cbw-para" }));
        appendInline(paragraph, line, bySource);
      }
    });
  }

  function appendInline(parent, text, bySource) {
    var pattern = new RegExp(INLINE, "g"); // its own lastIndex: bold and emphasis recurse
    var last = 0, match;
    while ((match = pattern.exec(text))) {
      appendCited(parent, text.slice(last, match.index), bySource);
      if (match[7] !== undefined) {
        parent.appendChild(document.createTextNode(match[7]));
      } else if (match[1]) {
        parent.appendChild(el("code", { class: "cbw-inline-code" }, match[2]));
      } else if (match[3] !== undefined || match[4] !== undefined) {
        var strong = match[3] !== undefined;
        appendInline(parent.appendChild(el(strong ? "strong" : "em")), strong ? match[3] : match[4], bySource);
      } else {
        var href = safeHref(match[6]);
        if (href) parent.appendChild(el("a", { class: "cbw-link", href: href }, match[5]));
        else appendCited(parent, match[5], bySource);
      }
      last = pattern.lastIndex;
    }
    appendCited(parent, text.slice(last), bySource);
  }

  // Blank lines next to a code block: the block's own margin separates it.
  function trimLines(text) { return text.replace(/^\n+|\n+$/g, ""); }

  function appendCited(answer, text, bySource) {
    text.split(/(\[\d+\])/).forEach(function (part) {
      var match = /^\[(\d+)\]$/.exec(part);
      var source = match && bySource[Number(match[1])];
      if (source) {
        var href = safeHref(source.url);
        var cite = el(href ? "a" : "span", { class: "cbw-cite", title: source.title + ": " + source.snippet }, part);
        if (href) cite.setAttribute("href", href);
        cite.setAttribute("aria-label", "Source " + match[1] + ": " + source.title);
        answer.appendChild(cite);
      } else if (part) {
        answer.appendChild(document.createTextNode(part));
      }
    });
  }

  function finish(bubble, reply, restored) {
    var status = reply.status === "no_answer" ? "no-answer" : reply.status === "selection_only" ? "selection-only" : "answered";
    setState(bubble, status);
    var bySource = {};
    (reply.sources || []).forEach(function (s) { bySource[s.index] = s; });
    var answer = bubble.querySelector(".cbw-answer");
    answer.textContent = "";
    appendAnswer(answer, String(reply.answer || ""), bySource, false);
    if (reply.sources && reply.sources.length) {
      var list = el("ol", { class: "cbw-sources", "aria-label": "Sources" });
      reply.sources.forEach(function (s) {
        var item = el("li", { value: String(s.index) });
        var href = safeHref(s.url);
        var link = el(href ? "a" : "span", { class: "cbw-source-title" }, sourceLabel(s));
        if (href) link.setAttribute("href", href);
        item.appendChild(link);
        item.appendChild(el("p", { class: "cbw-snippet" }, s.snippet));
        list.appendChild(item);
      });
      bubble.appendChild(list);
    }
    if (reply.answer_id) bubble.appendChild(feedbackBar(reply.answer_id));
    // A restored conversation is not read out again; a new answer is.
    if (!restored) announcer.textContent = (LABELS[status] ? LABELS[status] + ". " : "") + spokenText(answer);
    log.scrollTop = log.scrollHeight;
  }

  // The server has as many readers as it takes (503 server_busy): wait as long as it asks, then ask once more.
  // A busy server is waited out this many times in a row before the reader is asked to retry.
  var MAX_WAITS = 3;

  function askAgainLater(bubble, error, message, selected, waits) {
    var seconds = Math.min(Math.max(parseInt(error.retryAfter, 10) || 2, 1), 30);
    setState(bubble, "waiting");
    var note = "Many readers are asking right now; asking again in " + seconds + " seconds.";
    bubble.querySelector(".cbw-answer").textContent = note;
    announcer.textContent = LABELS.waiting + ". " + note;
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(resolve, seconds * 1000);
      // Stop ends the wait at once, not when the server's seconds are up.
      state.asking.signal.addEventListener("abort", function () {
        clearTimeout(timer);
        reject({ name: "AbortError" });
      });
    }).then(function () {
      setState(bubble, "thinking");
      bubble.querySelector(".cbw-answer").textContent = "";
      return ask(message, selected, bubble, false).catch(function (next) {
        if (next && next.code === "server_busy" && waits + 1 < MAX_WAITS) {
          return askAgainLater(bubble, next, message, selected, waits + 1);
        }
        throw next;
      });
    });
  }

  function fail(bubble, error, message, selected) {
    var limited = error && (error.status === 429 || error.code === "server_busy");
    setState(bubble, limited ? "rate-limited" : "error");
    var note = limited
      ? "Please wait " + (error.retryAfter || "a few") + " seconds, then retry."
      : "The assistant could not answer right now (" + ((error && error.code) || "network error") + ").";
    bubble.querySelector(".cbw-answer").textContent = note;
    var retry = el("button", { type: "button", class: "cbw-retry" }, "Retry");
    retry.addEventListener("click", function () {
      bubble.remove();
      submit(message, selected, true);
    });
    bubble.appendChild(retry);
    announcer.textContent = LABELS[limited ? "rate-limited" : "error"] + ". " + note;
  }

  function submit(message, selected, isRetry) {
    if (state.busy || !message) return;
    state.busy = true;
    state.asking = new AbortController();
    send.disabled = send.hidden = true;
    stop.hidden = false;
    if (!isRetry) addUser(message, selected);
    var bubble = addAssistant();
    ask(message, selected, bubble, false)
      .catch(function (error) {
        if (error && error.code === "server_busy") return askAgainLater(bubble, error, message, selected, 0);
        throw error;
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") stopped(bubble);
        else fail(bubble, error, message, selected);
      })
      .then(function () {
        var focused = document.activeElement === stop;
        state.busy = false;
        state.asking = null;
        send.disabled = send.hidden = false;
        stop.hidden = true;
        if (focused) input.focus();
      });
  }

  // Stopped by the reader: what had arrived stays, marked as stopped; the server kept nothing of it.
  function stopped(bubble) {
    setState(bubble, "stopped");
    if (!bubble.querySelector(".cbw-answer").textContent) bubble.querySelector(".cbw-answer").textContent = "…";
    announcer.textContent = LABELS.stopped + ".";
  }

  // ---- events ----
  launcher.addEventListener("click", function () { panel.hidden ? openPanel() : closePanel(); });
  closeButton.addEventListener("click", closePanel);
  stop.addEventListener("click", function () { if (state.asking) state.asking.abort(); });
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") closePanel(); else trapTab(event); });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var message = input.value.trim();
    if (!message || state.busy) return;
    var selected = state.selected;
    input.value = "";
    clearSelection();
    submit(message, selected, false);
  });
  resetButton.addEventListener("click", function () {
    var old = state.sessionId;
    forgetSession();
    log.textContent = "";
    clearSelection();
    if (old) fetch(API + "/api/chat/sessions/" + encodeURIComponent(old) + "/", { method: "DELETE", headers: headers() }).catch(function () {});
    input.focus();
  });

  function clearSelection() {
    state.selected = "";
    chip.hidden = true;
    chipText.textContent = "";
  }
  chipClear.addEventListener("click", clearSelection);

  // "Ask about this" under a passage the reader selected on the page (not in the panel). A mouse shows it at
  // once; a selection made by touch (long press and handles) or by keyboard fires no mouseup, so it also shows
  // once the selection has stayed the same for a moment.
  function offerSelection() {
    var selection = window.getSelection();
    var text = selection && selection.rangeCount ? selection.toString().trim() : "";
    if (text !== taken) taken = "";
    if (text.length < 3 || text === taken || panel.contains(selection.anchorNode)) { askSelection.hidden = true; return; }
    var rect = selection.getRangeAt(0).getBoundingClientRect();
    askSelection.style.top = window.scrollY + rect.bottom + 6 + "px";
    askSelection.style.left = window.scrollX + rect.left + "px";
    askSelection.dataset.text = text.slice(0, 20000);
    askSelection.hidden = false;
  }
  var SELECTION_SETTLES_MS = 400;
  var settling = null;
  var taken = ""; // the passage just asked about: not offered again while it stays selected
  document.addEventListener("mouseup", function (event) {
    if (event.target === askSelection) return;
    clearTimeout(settling);
    offerSelection();
  });
  document.addEventListener("selectionchange", function () {
    clearTimeout(settling);
    settling = setTimeout(offerSelection, SELECTION_SETTLES_MS);
  });
  askSelection.addEventListener("click", function () {
    state.selected = taken = askSelection.dataset.text || "";
    chipText.textContent = state.selected;
    chip.hidden = !state.selected;
    askSelection.hidden = true;
    openPanel();
  });

  function start() { withStylesheet(mount); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
