"""HTML tables written inside Markdown (``<table>…</table>``), read as rows the way Markdown tables are.

Docusaurus and MkDocs render a raw HTML table in a page as a table; read as flowing text, its cells would run
together ("Sensor Price BME280 5 EUR SHT45 7 EUR") and no row could be quoted on its own.
"""

from html.parser import HTMLParser

# Tags whose text is never shown on the page.
_HIDDEN = frozenset({"script", "style", "template"})


class _TableReader(HTMLParser):
    """Collects each table's rows as lists of (is_header, text) cells; a table inside a cell is read as its own."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[tuple[bool, str]]]] = []
        self._open: list[list[list[tuple[bool, str]]]] = []  # tables being read, innermost last
        self._cell: list[str] | None = None
        self._header = False
        self._in_head = False
        self._hidden = 0
        self.outside: list[str] = []  # text outside every table (a caption, a note beside it)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag == "table":
            self._finish_cell()
            self._open.append([])
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._open:
            self._finish_cell()
            self._open[-1].append([])
        elif tag in ("td", "th") and self._open:
            self._finish_cell()
            if not self._open[-1]:
                self._open[-1].append([])
            self._cell, self._header = [], tag == "th" or self._in_head
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")
        elif not self._open:
            self.outside.append(" ")  # a tag outside the tables separates words

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(self._hidden - 1, 0)
        elif tag in ("td", "th", "tr"):
            self._finish_cell()
        elif tag == "thead":
            self._in_head = False
        elif tag == "table" and self._open:
            self._finish_cell()
            self.tables.append(self._open.pop())

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._cell is not None:
            self._cell.append(data)
        elif not self._open:
            self.outside.append(data)

    def _finish_cell(self) -> None:
        if self._cell is not None and self._open and self._open[-1]:
            self._open[-1][-1].append((self._header, " ".join("".join(self._cell).split())))
        self._cell = None

    def close(self) -> None:
        super().close()
        while self._open:  # a table the block cut off before its end tag: what was read of it
            self._finish_cell()
            self.tables.append(self._open.pop())


def html_tables(content: str) -> tuple[str, list[str]]:
    """(the text outside the tables, their body rows) of an HTML block: each row a 'Header: value; Header: value'
    line (the header row travels with every row; a row that starts with its own header cell reads 'Header:
    value'; other rows give their cells joined by '; '). No rows when the block holds no table."""
    if "<table" not in content.lower():
        return "", []
    reader = _TableReader()
    reader.feed(content)
    reader.close()
    lines: list[str] = []
    for table in reader.tables:
        rows = [row for row in table if any(text for _, text in row)]
        header: list[str] = []
        if rows and all(is_header for is_header, _ in rows[0]):
            header = [text for _, text in rows.pop(0)]
        for row in rows:
            if not header and len(row) > 1 and row[0][0] and not any(is_header for is_header, _ in row[1:]):
                # A row that starts with its own header cell: "Weight: 89 kg".
                values = "; ".join(text for _, text in row[1:] if text)
                lines.append(f"{row[0][1]}: {values}" if row[0][1] else values)
                continue
            names = header + [""] * (len(row) - len(header))
            cells = [f"{name}: {text}" if name else text for name, (_, text) in zip(names, row, strict=False) if text]
            if cells:
                lines.append("; ".join(cells))
    return " ".join("".join(reader.outside).split()), lines
