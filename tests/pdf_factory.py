"""Build small, valid PDF files with real text, for ingestion tests."""

import io

# A small manual as PDFs print one: a cover, a table of contents, a running head and page numbers, a list, a word
# hyphenated at a line's end, and an outline (title, 0-based page, depth) naming its sections.
HEAD = "Weather Station Manual"
MANUAL = [
    "Weather Station Manual\nSecond edition",
    "Contents\n1 Setup . . . . . . . . . . 3\n2 Sensors . . . . . . . . 4\n2.1 Wind . . . . . . . . . 4\nii",
    f"{HEAD}\n1 Setup\nMount the mast on a post at least two metres high.\nThe kit holds:\n• the mast\n"
    "• two clamps\nUse <M6> bolts, not *M5* ones: the_clamp needs them.\n3",
    f"{HEAD}\n2 Sensors\nEach sensor plugs into the con-\ntroller's front panel.\n2.1 Wind\n"
    "The anemometer reads up to 60 m/s.\n4",
    f"{HEAD}\n# of sensors: up to eight.\n1. Unplug the controller.\nClean the vane every month.\n5",
]
OUTLINE = [("1 Setup", 2, 0), ("2 Sensors", 3, 0), ("Wind", 3, 1), ("Care", 4, 0)]


def make_pdf(pages: list[str], *, outline: list[tuple[str, int, int]] = (), title: str = "") -> bytes:
    """Return a PDF whose pages hold the given lines of text (Helvetica, or Courier for a line that starts with a
    tab; one line per page line), with the
    bookmarks of ``outline``: (title, 0-based page, depth), in order, each nested in the last one less deep, and
    ``title`` in its document information."""
    objects: list[bytes] = []
    page_ids = [5 + 2 * i for i in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids).encode()
    objects.append(b"<< /Type /Pages /Kids [" + kids + b"] /Count " + str(len(pages)).encode() + b" >>")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>")
    for i, text in enumerate(pages):
        lines = text.split("\n")
        ops = ["BT", "14 TL", "50 780 Td"]
        for line in lines:
            # A line that starts with a tab is code, set in Courier as PDF exports set code.
            font, line = ("/F2", line[1:]) if line.startswith("\t") else ("/F1", line)
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"{font} 11 Tf ({escaped}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("cp1252")
        content_id = page_ids[i] + 1
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> " + f"/Contents {content_id} 0 R >>".encode()
        )
        objects.append(b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return _with_outline_and_title(bytes(out), outline, title) if outline or title else bytes(out)


def _with_outline_and_title(pdf: bytes, outline: list[tuple[str, int, int]], title: str) -> bytes:
    from pypdf import PdfWriter  # noqa: PLC0415

    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    if title:
        writer.add_metadata({"/Title": title})
    parents: dict[int, object] = {}
    for title, page, depth in outline:
        parents[depth] = writer.add_outline_item(title=title, page_number=page, parent=parents.get(depth - 1))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
