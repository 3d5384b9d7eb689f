"""Unpacking a book archive: where the book is found in it, and every way a hostile or broken archive is refused
with nothing written."""

import io
import stat
import zipfile
from pathlib import Path

import pytest

from knowledge.archives import ArchiveLimits, ArchiveRejected, archive_unpack, book_name_for
from tests.archive_factory import zip_folder, zip_members

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LIMITS = ArchiveLimits(max_files=1000, max_unpacked_bytes=50 * 1024 * 1024)


def unpack(data: bytes, destination: Path, *, limits: ArchiveLimits = LIMITS) -> Path:
    destination.mkdir(exist_ok=True)
    return archive_unpack(archive=io.BytesIO(data), file_name="book.zip", destination=destination, limits=limits)


def written(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


def refused(data: bytes, tmp_path: Path, *, limits: ArchiveLimits = LIMITS) -> str:
    destination = tmp_path / "out"
    with pytest.raises(ArchiveRejected) as error:
        unpack(data, destination, limits=limits)
    assert written(destination) == []  # every member is checked before the first is written
    return str(error.value)


def test_a_repository_wrapped_in_one_folder_is_found_under_it(tmp_path):
    root = unpack(zip_folder(FIXTURES / "weather-book", top="weather-book-main"), tmp_path / "out")
    assert root == tmp_path / "out" / "weather-book-main"
    assert (root / "docusaurus.config.js").is_file()
    assert (root / "docs" / "05-maintenance.md").is_file()


def test_a_site_in_a_subfolder_of_the_repository_is_found(tmp_path):
    data = zip_members(
        {
            "repo-main/README.md": "# The repository\n",
            "repo-main/website/mkdocs.yml": "site_name: Garden\n",
            "repo-main/website/docs/index.md": "# Garden\n\nDig.\n",
        }
    )
    assert unpack(data, tmp_path / "out") == tmp_path / "out" / "repo-main" / "website"


def test_a_plain_folder_of_pages_is_its_own_book(tmp_path):
    data = zip_members({"one.md": "# One\n\nText.\n", "two/three.md": "# Three\n\nText.\n"})
    root = unpack(data, tmp_path / "out")
    assert root == tmp_path / "out"
    assert written(root) == ["one.md", "two/three.md"]


def test_dependencies_builds_and_version_control_are_not_unpacked(tmp_path):
    data = zip_members(
        {
            "docs/a.md": "# A\n\nText.\n",
            "node_modules/pkg/readme.md": "# Not the book\n",
            "build/docs/a/index.html": "<p>built</p>",
            ".git/config": "[core]",
        }
    )
    unpack(data, tmp_path / "out")
    assert written(tmp_path / "out") == ["docs/a.md"]


@pytest.mark.parametrize(
    "name", ["../escape.md", "docs/../../escape.md", "/etc/escape.md", "C:\\escape.md", "..\\x.md"]
)
def test_a_path_outside_the_folder_refuses_the_whole_archive(tmp_path, name):
    message = refused(zip_members({"docs/a.md": "# A\n\nText.\n", name: "# Escape\n"}), tmp_path)
    assert "outside its own folder" in message
    assert not (tmp_path / "escape.md").exists()


def test_links_are_not_unpacked(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("docs/a.md", "# A\n\nText.\n")
        link = zipfile.ZipInfo("docs/secrets.md")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        bundle.writestr(link, "/etc/passwd")
    unpack(buffer.getvalue(), tmp_path / "out")
    assert written(tmp_path / "out") == ["docs/a.md"]


def test_encrypted_members_are_refused(tmp_path):
    data = bytearray(zip_members({"docs/a.md": "# A\n"}))
    # zipfile cannot write encrypted members: set the flag in the local and the central header by hand.
    data[6] |= 0x1
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 0x1
    assert "encrypted" in refused(bytes(data), tmp_path)


def test_a_zip_bomb_is_refused_before_anything_is_written(tmp_path):
    data = zip_members({"docs/a.md": "# A\n\nText.\n", "docs/bomb.md": b"\0" * (3 * 1024 * 1024)})
    assert len(data) < 50_000  # small on the wire
    limits = ArchiveLimits(max_files=1000, max_unpacked_bytes=2 * 1024 * 1024)
    assert "more than 1,000 files or 2 MB" in refused(data, tmp_path, limits=limits)


def test_too_many_files_are_refused(tmp_path):
    data = zip_members({f"docs/{n}.md": f"# {n}\n" for n in range(11)})
    assert "more than 10 files" in refused(data, tmp_path, limits=ArchiveLimits(max_files=10, max_unpacked_bytes=10**9))


@pytest.mark.parametrize(
    "data",
    [b"", b"not a zip at all", b"PK\x03\x04" + b"\0" * 40],
    ids=["empty", "text", "truncated"],
)
def test_what_is_not_a_zip_is_refused(tmp_path, data):
    assert "could not be read as a .zip archive" in refused(data, tmp_path)


def test_a_corrupt_member_is_refused(tmp_path):
    text = "# B\n\n" + "Plenty of text to compress. " * 200
    data = bytearray(zip_members({"docs/a.md": "# A\n\nFine.\n", "docs/b.md": text}))
    start = data.index(b"docs/b.md") + len(b"docs/b.md") + 10  # inside the second member's compressed bytes
    data[start : start + 8] = b"\xff" * 8
    # Found only while unpacking, after the first member was written: that goes too.
    assert "could not be read as a .zip archive" in refused(bytes(data), tmp_path)


def test_an_archive_of_folders_only_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr(zipfile.ZipInfo("docs/"), "")
    assert "holds no files" in refused(buffer.getvalue(), tmp_path)


@pytest.mark.parametrize(
    ("file_name", "name"),
    [
        ("weather-book-main.zip", "weather-book-main"),
        ("My Book (final).ZIP", "My-Book-final"),
        ("C:\\Users\\me\\garden.zip", "garden"),
        ("...zip", "book"),
    ],
)
def test_a_book_is_named_after_its_archive(file_name, name):
    assert book_name_for(file_name=file_name) == name


def test_a_disk_that_fills_up_is_the_servers_failure_and_leaves_nothing(tmp_path, monkeypatch):
    import errno
    import shutil

    from knowledge import archives

    copies = []
    copy = shutil.copyfileobj

    def copy_then_fill(source, target, length):
        if copies:  # the second file: the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        copies.append(1)
        copy(source, target, length)

    monkeypatch.setattr(archives.shutil, "copyfileobj", copy_then_fill)
    data = zip_members({"docs/a.md": "# A\n\nText.\n", "docs/b.md": "# B\n\nText.\n"})
    message = refused(data, tmp_path)  # the first file, written, is removed too
    assert copies == [1]
    assert "The server could not unpack “book.zip” (No space left on device); nothing was changed." in message
