"""Unpack a book uploaded as one .zip archive (a Docusaurus or MkDocs repository, or a folder of pages), refusing
what a hostile or broken archive could do to the disk: paths outside the folder, links, encrypted or corrupt
members, and more files or bytes than the limits allow. A read step: nothing is stored in the database here."""

import errno
import re
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from django.conf import settings

from .sites import site_root
from .sources import SourceRejected

# What a repository holds that the book never needs (dependencies, builds, version control).
SKIPPED_FOLDERS = frozenset({".git", "node_modules", "build", "site", ".docusaurus", "__pycache__", "__MACOSX"})
# How deep below the archive's top folder a site's config is looked for (website/docusaurus.config.js).
_CONFIG_DEPTH = 2
_COPY_CHUNK = 1 << 20
# The server's own storage failing, not the archive: no space, no quota, a read-only or unwritable folder.
_STORAGE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES})
# What zipfile raises for an archive that is not one, or a member that is corrupt or in an unknown format.
_UNREADABLE = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, NotImplementedError, ValueError)


class ArchiveRejected(SourceRejected):
    """An archive that is not unpacked; the message tells the admin why, and nothing was changed."""


@dataclass(frozen=True)
class ArchiveLimits:
    """How much one archive may unpack to."""

    max_files: int
    max_unpacked_bytes: int

    @classmethod
    def from_settings(cls) -> "ArchiveLimits":
        """The limits the settings give (KNOWLEDGE_MAX_ARCHIVE_FILES, KNOWLEDGE_MAX_ARCHIVE_UNPACKED_BYTES)."""
        return cls(
            max_files=settings.KNOWLEDGE_MAX_ARCHIVE_FILES,
            max_unpacked_bytes=settings.KNOWLEDGE_MAX_ARCHIVE_UNPACKED_BYTES,
        )


def book_name_for(*, file_name: str) -> str:
    """A book's name from its archive's file name: ``weather-book-main.zip`` -> ``weather-book-main``."""
    stem = PurePosixPath(file_name.replace("\\", "/")).name.removesuffix(".zip").removesuffix(".ZIP")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:100] or "book"


def archive_check_size(*, file_name: str, size: int) -> None:
    """Refuse archives over KNOWLEDGE_MAX_ARCHIVE_BYTES before reading them."""
    limit = settings.KNOWLEDGE_MAX_ARCHIVE_BYTES
    if size > limit:
        raise ArchiveRejected(
            f"“{file_name}” is {size / 1_048_576:.1f} MB; the limit for a book archive is "
            f"{limit / 1_048_576:.1f} MB. Leave out build output and node_modules, or raise "
            "KNOWLEDGE_MAX_ARCHIVE_BYTES."
        )


def unpacking_failed(*, file_name: str, error: OSError) -> ArchiveRejected:
    """The refusal of an archive the server could not unpack: its own storage failed, not the archive."""
    return ArchiveRejected(
        f"The server could not unpack “{file_name}” ({error.strerror}); nothing was changed. "
        "Free some space for temporary files (TMPDIR) and try again."
    )


def archive_unpack(*, archive: IO[bytes], file_name: str, destination: Path, limits: ArchiveLimits) -> Path:
    """Unpack ``archive`` into the empty folder ``destination``; return the book's folder in it.

    Every member is checked before anything is written, so a refused archive leaves nothing behind. The book's
    folder is the one holding a site config (docusaurus.config.*, mkdocs.yml) nearest the top, else the
    archive's single top folder (as GitHub's "Download ZIP" wraps a repository), else ``destination``.
    """
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = _checked_members(bundle, file_name=file_name, limits=limits)
            for member, relative in members:
                _unpack_member(bundle, member, target=destination.joinpath(*relative.parts))
    except ArchiveRejected:
        raise
    except _UNREADABLE as error:
        # A member found corrupt while unpacking, or a disk that filled up: what came before it goes too.
        for written in destination.iterdir():
            shutil.rmtree(written) if written.is_dir() else written.unlink()
        if isinstance(error, OSError) and error.errno in _STORAGE_ERRORS:
            raise unpacking_failed(file_name=file_name, error=error) from error
        raise ArchiveRejected(
            f"“{file_name}” could not be read as a .zip archive ({error}). Upload the book as a .zip file."
        ) from error
    return _book_folder(destination)


def _checked_members(
    bundle: zipfile.ZipFile, *, file_name: str, limits: ArchiveLimits
) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """The members to unpack with their safe relative paths; raises ArchiveRejected for the whole archive."""
    members = []
    unpacked = 0
    for member in bundle.infolist():
        relative = _safe_path(member.filename, file_name=file_name)
        if member.is_dir() or relative is None or _skipped(relative):
            continue
        if member.flag_bits & 0x1:
            raise ArchiveRejected(f"“{file_name}” holds encrypted files ({member.filename}). Upload it unencrypted.")
        if stat.S_ISLNK(member.external_attr >> 16):
            continue  # a link could point anywhere on the server; the book's own files are enough
        unpacked += member.file_size
        members.append((member, relative))
        if len(members) > limits.max_files or unpacked > limits.max_unpacked_bytes:
            raise ArchiveRejected(
                f"“{file_name}” unpacks to more than {limits.max_files:,} files or "
                f"{limits.max_unpacked_bytes / 1_048_576:.0f} MB. Upload only the book (its docs folder and "
                "site config), or raise KNOWLEDGE_MAX_ARCHIVE_FILES / KNOWLEDGE_MAX_ARCHIVE_UNPACKED_BYTES."
            )
    if not members:
        raise ArchiveRejected(f"“{file_name}” holds no files.")
    return members


def _safe_path(name: str, *, file_name: str) -> PurePosixPath | None:
    """A member's path inside the archive's folder; refuses one that would leave it."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise ArchiveRejected(
            f"“{file_name}” holds a path outside its own folder ({name!r}); such archives are refused."
        )
    parts = [part for part in path.parts if part not in ("", ".")]
    return PurePosixPath(*parts) if parts else None


def _skipped(relative: PurePosixPath) -> bool:
    return any(part in SKIPPED_FOLDERS for part in relative.parts[:-1])


def _unpack_member(bundle: zipfile.ZipFile, member: zipfile.ZipInfo, *, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # zipfile stops at the size the member declares and checks its CRC, so a member cannot unpack to more
    # than was counted against the limits.
    with bundle.open(member) as source, target.open("wb") as out:
        shutil.copyfileobj(source, out, _COPY_CHUNK)


def _book_folder(destination: Path) -> Path:
    top = destination
    entries = list(top.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        top = entries[0]
    for depth in range(_CONFIG_DEPTH + 1):
        for folder in sorted(_folders_at(top, depth=depth)):
            style, base = site_root(folder)
            if style != "plain" and base == folder:
                return folder
    return top


def _folders_at(top: Path, *, depth: int) -> list[Path]:
    folders = [top]
    for _ in range(depth):
        folders = [child for folder in folders for child in folder.iterdir() if child.is_dir()]
    return folders
