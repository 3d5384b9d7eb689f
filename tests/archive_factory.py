"""Build .zip archives for tests: a folder as GitHub's "Download ZIP" wraps it, or members given one by one."""

import io
import zipfile
from pathlib import Path


def zip_folder(folder: Path, *, top: str = "") -> bytes:
    """The files under ``folder`` as a .zip, inside the folder ``top`` when given (``repo-main/``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                name = path.relative_to(folder).as_posix()
                bundle.write(path, f"{top.rstrip('/')}/{name}" if top else name)
    return buffer.getvalue()


def zip_members(members: dict[str, bytes | str]) -> bytes:
    """A .zip holding exactly these members (names written as given, so hostile names too)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members.items():
            member = zipfile.ZipInfo(name)
            member.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(member, data)
    return buffer.getvalue()
