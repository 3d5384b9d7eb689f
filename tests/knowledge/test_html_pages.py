"""HTML pages read as their site shows them (knowledge/html_pages.py): built Docusaurus and Material pages of the
fixture books (tests/fixtures/built-pages, recorded by bench/html_book.py --record), and the shapes Sphinx, texinfo,
Node's docs and hand-written pages give their content."""

import re
from pathlib import Path

import pytest

from knowledge.html_pages import html_outline, html_title, read_html
from knowledge.markdown import parse_markdown

BUILT = Path(__file__).resolve().parent.parent / "fixtures" / "built-pages"


def blocks(html: str | bytes) -> list[tuple[str, str, str]]:
    """(section, anchor, text) of each block the Markdown reader reads from the page."""
    return [(b.section, b.anchor, b.text) for b in parse_markdown(read_html(html).markdown).blocks]


def text_of(html: str | bytes) -> str:
    return "\n".join(text for _, _, text in blocks(html))


def page_ids(data: bytes) -> set[str]:
    return set(re.findall(rb'id="([^"]+)"', data))


def test_a_docusaurus_page_reads_as_its_article_with_the_ids_of_its_headings():
    data = (BUILT / "docusaurus-firmware.html").read_bytes()
    page = read_html(data)
    assert page.title == "Firmware"
    read = blocks(data)
    sections = {section: anchor for section, anchor, _ in read}
    assert sections["Firmware > Installing MicroPython"] == "installing-micropython"
    assert sections["Firmware > Recovering from a freeze"] == "recovering-from-a-freeze"
    # Every anchor is an id the built page has: each citation opens the page at its heading.
    assert {anchor.encode() for _, anchor, _ in read if anchor} <= page_ids(data)
    text = "\n".join(text for _, _, text in read)
    # The admonitions' titles lead their text (the one without a title reads as its type, as the page shows it).
    assert "Supported boards: The firmware runs on the ESP32" in text
    assert "Unplug the solar panel first: Disconnect the solar panel" in text
    assert "Warning: Never commit settings.py" in text
    # Each tab's label leads its panel; the panel hidden until its tab is chosen is read too.
    assert "ESP32: Hold the BOOT button" in text
    assert "Pico W: Hold the BOOTSEL button" in text
    # Code keeps its language and the title shown above it, one line per line drawn.
    assert '```python title="REPL"\nimport sys\nprint(sys.implementation.version)\n```' in text
    assert "```bash\nesptool.py --chip esp32" in text
    # The site's furniture around the article is not the page's text.
    for furniture in ("Skip to main content", "On this page", "Edit this page", "Previous", "Docs", "\u200b"):
        assert furniture not in text


def test_a_material_page_reads_its_tabs_code_titles_and_keys():
    data = (BUILT / "material-schedule.html").read_bytes()
    assert html_title(data) == "Watering schedule"
    read = blocks(data)
    assert (
        "Watering schedule > How often",
        "how-often",
        "Spring: Water every third day in spring, unless it has rained.",
    ) in read
    assert (
        "Watering schedule > How often",
        "how-often",
        "Summer: Water every morning in summer, before the sun is high.",
    ) in read
    text = "\n".join(text for _, _, text in read)
    assert '```title="valve.toml"\nrain_sensor = "gpio17"' in text
    assert "hold Shift+P on the keypad" in text
    assert "Table of contents" not in text and "Kitchen garden" not in text  # the sidebar and the header


def test_a_vitepress_page_reads_its_code_groups_and_containers():
    # Built by VitePress 1.6.4 from vitepress-setup.md beside it: a code block draws its language in its corner,
    # a code group is radio-button tabs.
    page = read_html((BUILT / "vitepress-setup.html").read_bytes())
    assert page.title == "Setup"
    assert page.markdown.split("\n\n") == [
        "# Setup {#setup}",
        "Install the firmware first.",
        "## Flashing {#flash}",
        "Supported boards: The firmware runs on the ESP32 and the Pico W.",
        "```js\nexport default { interval: 60 }\n```",
        "```bash\nesptool.py write_flash 0x1000 firmware.bin\n```",
        "npm:",
        "```sh\nnpm install weather\n```",
        "pnpm:",
        "```sh\npnpm add weather\n```",
        "<table><thead><tr><th>Sensor</th><th>Measures</th></tr></thead><tbody><tr><td>BME280</td><td>pressure</td>"
        "</tr></tbody></table>",
        "WARNING: Never power the sensor from 5 V.",
    ]


SPHINX = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8" />
<title>os.path — Common pathname manipulations &#8212; Python 3.13 documentation</title></head><body>
<div class="related" role="navigation" aria-label="Related"><ul><li><a href="index.html">Python</a> &#187;</li></ul>
</div>
<div class="document"><div class="documentwrapper"><div class="bodywrapper"><div class="body" role="main">
<section id="module-os.path">
<h1><code class="xref py py-mod docutils literal notranslate"><span class="pre">os.path</span></code> — Common pathname
manipulations<a class="headerlink" href="#module-os.path" title="Link to this heading">¶</a></h1>
<p>This module implements some useful functions on pathnames.</p>
<div class="admonition note"><p class="admonition-title">Note</p>
<p>All of these functions accept either only bytes or only string objects as their parameters.</p></div>
<section id="joining-paths">
<h2>Joining paths<a class="headerlink" href="#joining-paths" title="Link to this heading">¶</a></h2>
<dl class="py function">
<dt class="sig sig-object py" id="os.path.join">
<span class="sig-prename descclassname"><span class="pre">os.path.</span></span><span class="sig-name descname"><span
class="pre">join</span></span><span class="sig-paren">(</span><em class="sig-param"><span class="n"><span
class="pre">path</span></span></em>, <em class="sig-param"><span class="o"><span class="pre">*</span></span><span
class="n"><span class="pre">paths</span></span></em><span class="sig-paren">)</span><a class="headerlink"
href="#os.path.join" title="Link to this definition">¶</a></dt>
<dd><p>Join one or more path segments intelligently.</p>
<div class="highlight-python3 notranslate"><div class="highlight"><pre><span></span><span class="n">os</span><span
class="o">.</span><span class="n">path</span><span class="o">.</span><span class="n">join</span><span
class="p">(</span><span class="s2">"a"</span><span class="p">,</span> <span class="s2">"b"</span><span
class="p">)</span>
</pre></div></div>
</dd></dl>
<div class="literal-block-wrapper docutils container" id="id1">
<div class="code-block-caption"><span class="caption-text">setup.cfg</span><a class="headerlink" href="#id1">¶</a></div>
<div class="highlight-ini notranslate"><table class="highlighttable"><tr><td class="linenos"><div
class="linenodiv"><pre><span class="normal">1</span>
<span class="normal">2</span></pre></div></td><td class="code"><div class="highlight"><pre><span></span>[paths]
root = /srv
</pre></div></td></tr></table></div></div>
<dl class="simple"><dt>Separator</dt><dd><p>The character that separates path segments.</p></dd>
<dt>Drive</dt><dd><p>A letter and a colon, on Windows.</p></dd></dl>
</section></section></div></div></div>
<div class="sphinxsidebar" role="navigation" aria-label="Main"><h3>Table of Contents</h3><ul><li>os.path</li></ul></div>
</div><div class="footer">&#169; Copyright 2001 Python Software Foundation.</div></body></html>"""


def test_a_sphinx_page_gives_sections_and_api_entries_their_ids():
    read = blocks(SPHINX)
    assert read_html(SPHINX).title == "os.path — Common pathname manipulations"
    by_text = {text: (section, anchor) for section, anchor, text in read}
    assert by_text["Join one or more path segments intelligently."] == (
        "os.path — Common pathname manipulations > Joining paths > os.path.join(path, *paths)",
        "os.path.join",
    )
    text = "\n".join(by_text)
    assert "Note: All of these functions accept" in text
    assert '```python3\nos.path.join("a", "b")\n```' in text
    # A captioned block: the caption is its title, its line numbers are not code.
    assert '```ini title="setup.cfg"\n[paths]\nroot = /srv\n```' in text
    assert "• Separator: The character that separates path segments.\n• Drive: A letter and a colon" in text
    for furniture in ("¶", "Table of Contents", "Copyright", "Python »"):
        assert furniture not in text


TEXINFO = """<html><head><title>Simple Example (libffi)</title></head><body lang="en">
<div class="section" id="Simple-Example">
<div class="header"><p>Next: <a href="Types.html" rel="next">Types</a>, Previous: <a href="The-Basics.html">The
Basics</a>, Up: <a href="Using-libffi.html">Using libffi</a> &nbsp; [<a href="Index.html">Index</a>]</p></div>
<hr><span id="Simple-Example-1"></span><h3 class="section">2.2 Simple Example</h3>
<p>Here is a trivial example that calls <code>puts</code> a few times.</p>
<div class="example"><pre class="example">#include &lt;stdio.h&gt;
int main() { return 0; }
</pre></div></div></body></html>"""


def test_a_texinfo_page_links_its_section_and_leaves_out_its_navigation_bar():
    read = blocks(TEXINFO)
    assert read[0] == ("2.2 Simple Example", "Simple-Example", "Here is a trivial example that calls puts a few times.")
    assert read[1][2] == "```\n#include <stdio.h>\nint main() { return 0; }\n```"
    assert "Next:" not in text_of(TEXINFO)
    assert read_html(TEXINFO).title == "Simple Example (libffi)"  # no H1: the page's <title>


NODE = """<html><head><title>DNS | Node.js v20 Documentation</title></head><body><div id="content">
<div id="column2" class="interior"><ul><li><a href="fs.html">File system</a></li></ul></div>
<div id="column1" role="main" id="apicontent">
<h2>DNS<span><a class="mark" href="#dns" id="dns">#</a></span><a aria-hidden="true" class="legacy"
id="dns_dns"></a></h2>
<p>The <code>node:dns</code> module enables name resolution.</p>
<h3><code>dns.getServers()</code><span><a class="mark" href="#dnsgetservers" id="dnsgetservers">#</a></span></h3>
<pre><code class="language-js">dns.getServers();</code><button class="copy-button">copy</button></pre>
</div></div></body></html>"""


def test_a_heading_is_linked_by_its_permalink_and_a_copy_button_is_not_code():
    read = blocks(NODE)
    assert read[0] == ("DNS", "dns", "The node:dns module enables name resolution.")
    assert read[1] == ("DNS > dns.getServers()", "dnsgetservers", "```js\ndns.getServers();\n```")
    assert "File system" not in text_of(NODE)


def test_math_footnotes_notebook_outputs_and_hidden_text():
    html = """<main><h1>Notes</h1>
    <p>Energy is <span class="katex"><span class="katex-mathml"><math><semantics><mrow><mi>E</mi></mrow>
    <annotation encoding="application/x-tex">E = mc^2</annotation></semantics></math></span><span class="katex-html"
    aria-hidden="true">E=mc2</span></span> in a vacuum.<sup><a href="#fn-1" id="fnref-1"
    data-footnote-ref>1</a></sup></p>
    <div class="jp-OutputArea-output"><pre>total: 846 litres</pre></div>
    <p>Copy the link.<span class="notice" hidden>Copied!</span></p>
    <section class="footnotes"><ol><li id="fn-1"><p>In metres per second. <a href="#fnref-1"
    data-footnote-backref>↩</a></p></li></ol></section></main>"""
    text = text_of(html)
    assert "Energy is $E = mc^2$ in a vacuum." in text
    assert "```output\ntotal: 846 litres\n```" in text
    assert "Copied!" not in text and "↩" not in text and "vacuum.1" not in text
    assert "In metres per second." in text


def test_a_page_in_a_declared_encoding_and_a_page_without_content():
    latin = '<html><head><meta charset="iso-8859-1"><title>Café</title></head><body><p>Crème brûlée</p></body></html>'
    assert read_html(latin.encode("iso-8859-1")).markdown == "Crème brûlée"
    assert read_html(latin.encode("utf-8")).title == "Café"
    # A page whose text its scripts write in the browser has none to read.
    assert read_html(b'<html><body><div id="root"></div><script>render()</script></body></html>').markdown == ""


@pytest.mark.parametrize("depth", [50, 5000])
def test_a_page_nested_deeper_than_any_site_builds_keeps_its_text(depth):
    html = "<html><body>" + "<div>" * depth + "<p># Not a heading</p>" + "</div>" * depth + "</body></html>"
    assert read_html(html).markdown == r"\# Not a heading"


MDBOOK = """<html><head><title>Data Types - The Rust Programming Language</title></head><body>
<nav id="sidebar" class="sidebar"><ol class="chapter"><li><a href="ch03-01.html">Variables</a></li></ol></nav>
<div id="menu-bar"><h1 class="menu-title">The Rust Programming Language</h1></div>
<main><h2 id="data-types"><a class="header" href="#data-types">Data Types</a></h2>
<p>Every value in Rust is of a certain <em>data type</em>.</p>
<pre class="playground"><code class="language-rust edition2024"><span class="boring">#![allow(unused)]
</span><span class="boring">fn main() {
</span>let guess: u32 = "42".parse().expect("Not a number!");
<span class="boring">}</span></code></pre>
<h3 id="scalar-types"><a class="header" href="#scalar-types">Scalar Types</a></h3><p>A scalar is one value.</p>
</main><nav class="nav-wrapper"><a rel="next" href="ch03-03.html">Next</a></nav></body></html>"""


def test_an_mdbook_page_keeps_the_headings_it_draws_as_links_and_hides_an_examples_hidden_lines():
    # Named by its heading, without the book's name its <title> adds (the menu bar's H1 is not its content).
    assert html_title(MDBOOK.encode()) == "Data Types"
    # A list of posts opens with its first post's heading, which is not the page's name.
    listing = b"<html><head><title>Blog | Handbook</title></head><body><main><h2>First post</h2><p>Hi.</p></main>"
    assert html_title(listing) == "Blog | Handbook"
    assert read_html(MDBOOK).markdown.split("\n\n") == [
        "## Data Types {#data-types}",
        "Every value in Rust is of a certain *data type*.",
        '```rust\nlet guess: u32 = "42".parse().expect("Not a number!");\n```',
        "### Scalar Types {#scalar-types}",
        "A scalar is one value.",
    ]


RUST_REFERENCE = """<html><body><main><h2 id="the-used-attribute"><a class="header" href="#the-used-attribute">The
<code>used</code> attribute</a></h2>
<div class="rule" id="r-abi.used.intro"><a class="rule-link" href="#r-abi.used.intro"><span>[abi.used.intro]</span></a>
</div>
<p>The <em>used attribute</em> keeps a static in the output.</p>
<blockquote><p class="alert-title"><svg viewbox="0 0 16 16"><path d="M8 0"></path></svg>Note</p>
<p><code>rustc</code> lints against any use following the first.</p></blockquote>
<div class="markdown-alert markdown-alert-warning"><p class="markdown-alert-title">Warning</p><p>Unsafe.</p></div>
<dl><dt class="option-term" id="option-cargo--V"><a class="option-anchor" href="#option-cargo--V"><code>-V</code>,
<code>--version</code></a></dt><dd>Print version info and exit.</dd></dl></main></body></html>"""


def test_a_paragraphs_own_marker_is_left_out_and_alerts_read_with_their_titles():
    # The Rust Reference (mdBook) links each rule from a marker in the margin; GitHub-style alerts; Cargo's options
    # are terms drawn as links to themselves, and stay.
    assert [text for _, _, text in blocks(RUST_REFERENCE)] == [
        "The used attribute keeps a static in the output.",
        "Note: rustc lints against any use following the first.",
        "Warning: Unsafe.",
        "• -V, --version: Print version info and exit.",
    ]
    assert read_html(RUST_REFERENCE).markdown.startswith("## The `used` attribute {#the-used-attribute}\n\nThe *used")


NESTED = {
    "spans in a heading": "<h1>Deep</h1><h2>{open}x{close}</h2>".format(open="<span>x" * 300, close="</span>" * 300),
    "footers around a heading": "{open}<h2>Deep</h2><p>x</p>{close}".format(
        open="<footer>" * 300, close="</footer>" * 300
    ),
    "headings in headings": "<h1>Deep</h1>{open}<p>x</p>{close}".format(open="<h2>" * 300, close="</h2>" * 300),
}


@pytest.mark.parametrize("shape", NESTED)
def test_a_page_nested_deeper_than_any_site_builds_is_read_as_its_text_with_its_title(shape):
    # Reading such a page's structure takes time in the square of its depth (100,000 levels: hours); the deepest
    # page of the real builds here nests 24 levels.
    page = f"<html><head><title>Page title</title></head><body>{NESTED[shape]}</body></html>".encode()
    assert html_title(page) == "Page title"  # not its first heading: the structure is not read
    outline = html_outline(page)
    assert (outline.title, outline.has_text) == ("Page title", True)
    read = read_html(page)
    assert read.title == "Page title"
    assert "#" not in read.markdown.replace("\\#", "") and "x" in read.markdown  # text alone, no heading


def test_tabs_inside_a_tab_keep_their_own_labels():
    html = """<main><div><ul role="tablist"><li role="tab">pip</li><li role="tab">conda</li></ul>
    <div><div role="tabpanel"><p>Install with pip.</p>
      <div><ul role="tablist"><li role="tab">Linux</li><li role="tab">Windows</li></ul>
      <div><div role="tabpanel"><p>Use python3.</p></div><div role="tabpanel" hidden><p>Use py.</p></div></div></div>
    </div><div role="tabpanel" hidden><p>Install with conda.</p></div></div></div></main>"""
    assert text_of(html).split("\n") == [
        "pip: Install with pip.",
        "Linux: Use python3.",
        "Windows: Use py.",
        "conda: Install with conda.",
    ]


OUTLINED = {
    "headings and navigation alone": (
        '<html><head><title>Index</title></head><body><nav><a href="/a">A page</a></nav><main><h1>Index'
        '<a class="headerlink" href="#index">#</a></h1><h2>Pages</h2><div class="toc"><a href="#p">Pages</a></div>'
        "<!-- a comment --></main></body></html>",
        ("Index", False, False),
    ),
    "a paragraph under a heading": (
        "<html><body><main><h1>Setup</h1><p>Install it.</p></main></body></html>",
        ("Setup", False, True),
    ),
    "code alone": ("<html><body><pre><code>make run</code></pre></body></html>", ("", False, True)),
    "unlisted": (
        '<html><head><meta name="Robots" content="NOINDEX, nofollow"><title>Draft</title></head>'
        "<body><p>Soon.</p></body></html>",
        ("Draft", True, True),
    ),
    "a moved page's stub": (
        '<html><head><meta http-equiv="refresh" content="0; url=../new/"><title>Redirecting...</title></head>'
        '<body><p>Redirecting to <a href="../new/">the new page</a>.</p></body></html>',
        ("Redirecting...", False, True),
    ),
    "text only a script writes": (
        '<html><body><div id="root"></div><script>render()</script></body></html>',
        ("", False, False),
    ),
}


@pytest.mark.parametrize("name", OUTLINED)
def test_a_pages_outline_is_what_reading_it_finds(name):
    html, expected = OUTLINED[name]
    outline = html_outline(html.encode())
    assert (outline.title, outline.unlisted, outline.has_text) == expected
    assert outline.redirect is (name == "a moved page's stub")
    page = read_html(html.encode())
    assert (page.title, page.unlisted, parse_markdown(page.markdown).has_text) == expected


@pytest.mark.parametrize("name", ["docusaurus-firmware.html", "material-schedule.html", "docusaurus-blog-post.html"])
def test_a_built_pages_outline_is_what_reading_it_finds(name):
    data = (BUILT / name).read_bytes()
    outline, page = html_outline(data), read_html(data)
    assert (outline.title, outline.unlisted, outline.has_text) == (page.title, page.unlisted, True)
    assert not outline.lists_posts


def test_a_landing_pages_title_and_tagline_in_its_hero_banner_are_read():
    # Docusaurus's home page draws its title and tagline in a banner just before <main>.
    page = (
        '<html><head><title>Hello from Weather | Weather</title></head><body><nav class="navbar">Docs Blog</nav>'
        '<div class="main-wrapper"><header class="hero"><div class="container"><h1 class="hero__title">Weather</h1>'
        '<p class="hero__subtitle">Build your own weather station.</p></div></header>'
        "<main><section><h3>Easy to build</h3><p>Parts cost under 100 euros.</p></section></main></div>"
        '<footer class="footer">Copyright</footer></body></html>'
    )
    assert read_html(page).markdown == (
        "# Weather\n\nBuild your own weather station.\n\n### Easy to build\n\nParts cost under 100 euros."
    )
    assert html_outline(page).title == read_html(page).title == "Weather"
    # A <main> with a title of its own is the page; the site's header beside it is not.
    titled = page.replace("<main><section>", "<main><h1>Stations</h1><section>")
    assert read_html(titled).markdown.startswith("# Stations\n\n### Easy to build")


CARD = (
    '<article class="docCardListItem_W1sv col col--6"><a class="card padding--lg theme-doc-card-container '
    'cardContainer_KhuF" href="/docs/{slug}"><h2 class="theme-doc-card-heading cardTitle_mcqP" title="{title}">'
    '<span class="theme-doc-card-icon cardTitleIcon_GcdP">📄️</span><span class="text--truncate">{title}</span></h2>'
    '<p class="text--truncate theme-doc-card-description" title="{line}">{line}</p></a></article>'
)


def test_docusaurus_cards_of_other_pages_are_not_a_pages_text():
    # A category's generated index, and <DocCardList /> in a page: each card repeats another page's title and
    # opening line, as Docusaurus 3 draws it.
    cards = "".join(
        CARD.format(slug=slug, title=title, line=line)
        for slug, title, line in [("wind", "Wind", "The anemometer counts turns."), ("rain", "Rain", "A gauge tips.")]
    )
    generated = (
        '<html><head><title>Sensors | Weather</title></head><body><main><div class="generatedIndexPage_vN6x">'
        "<header><h1>Sensors</h1><p>What the station measures.</p></header>"
        f'<article class="margin-top--lg"><section class="row">{cards}</section></article></div></main></body></html>'
    )
    assert not html_outline(generated).has_text
    in_a_page = f"<html><body><article><h1>Sensors</h1><p>Each sensor has a page.</p>{cards}</article></body></html>"
    assert read_html(in_a_page).markdown == "# Sensors\n\nEach sensor has a page."


def test_a_blog_post_reads_without_its_byline():
    data = (BUILT / "docusaurus-blog-post.html").read_bytes()
    markdown = read_html(data).markdown
    # The date, reading time and author Docusaurus draws under the title are not the post's text.
    assert markdown.startswith("# A station on the coast\n\nA reader in Brittany mounted a station")
    for byline in ("June 18, 2024", "min read", "Mara Lindqvist", "Station maintainer"):
        assert byline not in markdown
    assert "## Corrosion {#corrosion}" in markdown


BYLINES = {
    # Jekyll's minima theme, a WordPress theme: the date and author under the title.
    "post-meta": '<p class="post-meta"><time datetime="2024-03-05">Mar 5, 2024</time> • <span>Jo</span></p>',
    "entry-meta": '<div class="entry-meta"><span class="posted-on">Posted on 5 March</span> by Jo</div>',
    "time alone": '<time datetime="2024-03-05">5 March 2024</time>',
    "author link": '<div><a rel="author" class="author-link" href="/jo">Jo Gardener</a></div>',
}


@pytest.mark.parametrize("name", BYLINES)
def test_a_byline_beside_an_articles_title_is_left_out_and_a_subtitle_is_kept(name):
    html = (
        f"<html><body><article><header><h1>Spades</h1>{BYLINES[name]}<p class='subtitle'>Which to buy.</p></header>"
        "<p>A border spade suits clay.</p><p>Dug on <time>5 March</time>.</p></article></body></html>"
    )
    # The date in the post's own text stays: only the header's byline is left out.
    assert read_html(html).markdown == "# Spades\n\nWhich to buy.\n\nA border spade suits clay.\n\nDug on 5 March."


@pytest.mark.parametrize("name", ["docusaurus-blog-list.html", "material-blog-index.html"])
def test_a_blogs_list_of_posts_is_outlined_as_one(name):
    # Each post is a page of its own: its opening, again on the blog's front page, is not loaded twice.
    data = (BUILT / name).read_bytes()
    assert html_outline(data).lists_posts


def test_a_material_blog_index_with_text_of_its_own_is_a_page():
    data = (BUILT / "material-blog-index.html").read_text()
    own = data.replace('<h1 id="blog">Blog</h1>', '<h1 id="blog">Blog</h1><p>Notes from the allotment, monthly.</p>')
    outline, page = html_outline(own), read_html(own)
    assert (outline.lists_posts, outline.has_text) == (False, True)
    # The posts' openings are left out of it all the same.
    assert page.markdown == "# Blog {#blog}\n\nNotes from the allotment, monthly."
