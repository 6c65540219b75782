"""Documents written through the API: every check first, then an atomic store into the corpus.

A document is refused before the corpus is touched: its ``doc_id`` (a relative path that stays
inside the corpus folder), its size, its content against its suffix (checked on the bytes, not
trusted from the name), whether it parses exactly as the indexer will parse it, and whether the
served index already holds the same text under another name. Only then is it written: to a
hidden temporary file beside its destination, fsynced, and renamed into place.

A stored change remembers what it replaced, so a build that fails afterwards can be undone and
the corpus goes back to what the served index was built from. Each kind of refusal is its own
exception; turning them into HTTP statuses is the API's business, not this module's.

Trade-off: the duplicate check hashes the served documents' text on every write (the generation
does not keep the hashes in memory); that is linear in the corpus, cheap next to an embedding.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from qa.core.errors import (
    DocumentError,
    DuplicateContent,
    InvalidDocId,
    LastDocument,
    TooLarge,
    UnknownDocument,
    UnreadableDocument,
    UnsupportedContent,
)
from qa.core.files import fsync_folder
from qa.core.types import Document, content_hash
from qa.ingest.corpus import corpus_files
from qa.ingest.formats import SUPPORTED_SUFFIXES, load_file

WRITABLE_SUFFIXES = tuple(sorted(SUPPORTED_SUFFIXES))  # every format the corpus folder takes
# text a JSON body can carry as it is; a title goes into front matter, which only these formats read
TITLED_SUFFIXES = (".txt", ".md", ".markdown", ".mdx")
JSON_SUFFIXES = (*TITLED_SUFFIXES, ".rst", ".csv", ".tsv", ".html", ".htm")
HTML_SUFFIXES = (".html", ".htm")
# Office Open XML and EPUB: zip archives
ZIP_SUFFIXES = {
    ".docx": "a Word document",
    ".pptx": "a PowerPoint file",
    ".xlsx": "an Excel workbook",
    ".epub": "an EPUB book",
}
# The suffix an upload named without one gets from the media type its part declares.
MEDIA_SUFFIXES = {
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/epub+zip": ".epub",
    "message/rfc822": ".eml",
    "text/x-rst": ".rst",
    "text/prs.fallenstein.rst": ".rst",
    "application/x-ipynb+json": ".ipynb",
    "text/csv": ".csv",
    "text/tab-separated-values": ".tsv",
}
MAX_DOC_ID_CHARS = 512
MAX_NAME_BYTES = 240  # a file system allows 255, and the temporary name adds 14
MAX_SLUG_CHARS = 80
# An HTML document shows one of these tags near its start; a renamed binary or plain text does not.
_HTML_TAG = re.compile(
    rb"<\s*(?:!doctype\s+html|html|head|body|title|meta|article|main|section|div|p|h[1-6])[\s/>]", re.I
)
_HTML_SNIFF_BYTES = 64 * 1024


def clean_doc_id(doc_id: str, suffixes: Collection[str] = WRITABLE_SUFFIXES) -> str:
    """``doc_id`` if it is a plain relative path ending in one of ``suffixes``; else ``InvalidDocId``."""
    if not doc_id or len(doc_id) > MAX_DOC_ID_CHARS:
        raise InvalidDocId(f"doc_id must be 1 to {MAX_DOC_ID_CHARS} characters long")
    if any(ord(character) < 32 or character == "\x7f" for character in doc_id):
        raise InvalidDocId("doc_id contains a NUL or other control character")
    if "\\" in doc_id:
        raise InvalidDocId(f"doc_id {doc_id!r} contains a backslash; separate folders with '/'")
    if doc_id.startswith("/"):
        raise InvalidDocId(
            f"doc_id {doc_id!r} is an absolute path; give a path relative to the corpus folder"
        )
    parts = doc_id.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise InvalidDocId(f"doc_id {doc_id!r} has an empty, '.' or '..' segment; give a plain relative path")
    if any(len(part.encode("utf-8")) > MAX_NAME_BYTES for part in parts):
        raise InvalidDocId(f"doc_id has a file or folder name longer than {MAX_NAME_BYTES} bytes")
    if any(part.startswith(".") for part in parts):
        raise InvalidDocId(f"doc_id {doc_id!r} names a hidden file or folder, which the indexer skips")
    if PurePosixPath(doc_id).suffix.lower() not in suffixes:
        raise InvalidDocId(f"doc_id {doc_id!r} must end in one of {', '.join(sorted(suffixes))}")
    return doc_id


def corpus_path(corpus_dir: Path, doc_id: str, suffixes: Collection[str] = WRITABLE_SUFFIXES) -> Path:
    """The file ``doc_id`` names, refused if resolving it (symbolic links included) leaves the corpus."""
    root = corpus_dir.resolve()
    path = root / clean_doc_id(doc_id, suffixes)
    if not path.resolve().is_relative_to(root):
        raise InvalidDocId(f"doc_id {doc_id!r} resolves outside the corpus folder")
    if path.is_dir():
        raise InvalidDocId(f"doc_id {doc_id!r} names a folder")
    if any(parent.exists() and not parent.is_dir() for parent in path.parents if parent.is_relative_to(root)):
        raise InvalidDocId(f"doc_id {doc_id!r} puts a document under a file, not a folder")
    return path


def check_size(doc_id: str, data: bytes, limit: int) -> None:
    if len(data) > limit:
        raise TooLarge(
            f"{doc_id}: the document is larger than the limit of {limit:,} bytes (QA_MAX_UPLOAD_BYTES)"
        )


def check_content(doc_id: str, data: bytes) -> None:
    """Refuse bytes that are not what ``doc_id``'s suffix says they are."""
    suffix = PurePosixPath(doc_id).suffix.lower()
    if suffix == ".pdf":
        if not data.startswith(b"%PDF-"):
            raise UnsupportedContent(f"{doc_id}: not a PDF (a PDF file starts with '%PDF-')")
        return
    if suffix in ZIP_SUFFIXES:
        if not data.startswith(b"PK\x03\x04"):
            raise UnsupportedContent(
                f"{doc_id}: not {ZIP_SUFFIXES[suffix]} (a {suffix} file is a zip archive)"
            )
        return
    if suffix == ".eml":
        return  # a message declares its own encodings (MIME, 8-bit parts, binary attachments)
    if b"\x00" in data:
        raise UnsupportedContent(f"{doc_id}: binary content (NUL bytes) in a {suffix} file")
    if suffix in HTML_SUFFIXES:
        if not _HTML_TAG.search(data[:_HTML_SNIFF_BYTES]):
            raise UnsupportedContent(f"{doc_id}: does not look like HTML (no <html>, <body> or similar tag)")
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnsupportedContent(
            f"{doc_id}: not UTF-8 text (bad byte at offset {error.start}); {suffix} files must be UTF-8"
        ) from error


def parse_document(doc_id: str, data: bytes) -> Document:
    """``data`` parsed exactly as the indexer will parse the stored file, in a folder outside the corpus."""
    with tempfile.TemporaryDirectory(prefix="qa-upload-") as folder:
        path = Path(folder) / PurePosixPath(doc_id).name
        path.write_bytes(data)
        try:
            document = load_file(path, doc_id)
        except DocumentError as error:
            raise UnreadableDocument(str(error)) from error
    if not document.text[int(document.metadata.get("body_start", 0)) :].strip():
        raise UnreadableDocument(f"{doc_id}: the document has no text")
    return document


def find_duplicate(document: Document, hashes: Mapping[str, str]) -> str | None:
    """The doc_id of another served document with exactly the same text, if there is one
    (``hashes``: each served document's content hash, so no text is read)."""
    wanted = document.content_hash
    for doc_id, content in hashes.items():
        if doc_id != document.doc_id and content == wanted:
            return doc_id
    return None


def slug(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:MAX_SLUG_CHARS].strip("-")


def default_doc_id(title: str | None, text: str) -> str:
    """A slug of the title, else a name from the text's hash; markdown either way."""
    name = slug(title or "")
    return f"{name}.md" if name else f"doc-{content_hash(text)[:12]}.md"


def with_front_matter(title: str | None, text: str) -> str:
    """``text`` under a front-matter title (on one line), or unchanged without a title."""
    one_line = " ".join((title or "").split())
    return f"---\ntitle: {one_line}\n---\n{text}" if one_line else text


def from_json(doc_id: str | None, title: str | None, text: str) -> tuple[str, bytes]:
    """The doc_id and file bytes for a document posted as JSON: text in a text format (Markdown
    by default), stored as it is; a title goes into front matter, so only formats that read front
    matter take one (a reST, CSV or HTML document's title is its own)."""
    chosen = clean_doc_id(doc_id if doc_id is not None else default_doc_id(title, text))
    suffix = PurePosixPath(chosen).suffix.lower()
    if suffix not in JSON_SUFFIXES:
        raise InvalidDocId(
            f"doc_id {chosen!r}: a JSON document is stored as text, so its doc_id must end in "
            f"{', '.join(JSON_SUFFIXES)}; "
            "upload other formats as files, multipart/form-data (field 'file')"
        )
    if title and title.strip() and suffix not in TITLED_SUFFIXES:
        raise InvalidDocId(
            f"doc_id {chosen!r}: a title is stored as front matter, which a {suffix} document does "
            f"not have; leave out 'title' (its own title is used) or use a doc_id ending in "
            f"{', '.join(TITLED_SUFFIXES)}"
        )
    if "\x00" in text:
        raise UnreadableDocument(f"{chosen}: the text contains a NUL character")
    try:
        return chosen, with_front_matter(title, text).encode("utf-8")
    except UnicodeEncodeError as error:
        raise UnreadableDocument(
            f"{chosen}: the text contains an unpaired surrogate ({error.reason})"
        ) from error


def upload_doc_id(filename: str | None, doc_id: str | None, media_type: str = "") -> str:
    """The doc_id of an uploaded file: the form's ``doc_id`` field if given, else the file's name.

    The suffix chooses the parser, as in the corpus folder. A name without one takes the suffix of
    the media type the upload declares (``report`` sent as application/pdf is ``report.pdf``); a
    format the corpus folder does not take is ``UnsupportedContent``, naming the ones it does."""
    chosen = doc_id or filename
    if not chosen:
        raise InvalidDocId("the upload has no file name; add a doc_id form field, e.g. doc_id=notes/today.md")
    suffix = PurePosixPath(chosen).suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        return chosen
    declared = media_type.split(";")[0].strip().lower()
    if not suffix and declared in MEDIA_SUFFIXES:
        return chosen + MEDIA_SUFFIXES[declared]
    found = f"the format {suffix}" if suffix else f"a file without a suffix (sent as {declared or 'no type'})"
    raise UnsupportedContent(
        f"{chosen}: {found} is not one qa reads; upload one of {', '.join(WRITABLE_SUFFIXES)}"
    )


@dataclass(frozen=True)
class Prepared:
    """A document that passed every check, not yet written."""

    doc_id: str
    path: Path
    data: bytes
    document: Document


def prepare(corpus_dir: Path, doc_id: str, data: bytes, limit: int, hashes: Mapping[str, str]) -> Prepared:
    """Check everything about a document to be stored as ``doc_id``; raise the first ``IngestError``."""
    path = corpus_path(corpus_dir, doc_id)
    check_size(doc_id, data, limit)
    check_content(doc_id, data)
    document = parse_document(doc_id, data)
    existing = find_duplicate(document, hashes)
    if existing is not None:
        raise DuplicateContent(doc_id, existing)
    return Prepared(doc_id, path, data, document)


def unchanged(prepared: Prepared, hashes: Mapping[str, str]) -> bool:
    """True when the file already holds these bytes and the served index has its text."""
    if hashes.get(prepared.doc_id) != prepared.document.content_hash:
        return False
    try:
        return prepared.path.read_bytes() == prepared.data
    except OSError:
        return False


def removable(corpus_dir: Path, doc_id: str, served: Mapping[str, Document]) -> Path:
    """The file to delete for ``doc_id``; ``UnknownDocument`` if neither the corpus nor the index has it."""
    path = corpus_path(corpus_dir, doc_id, SUPPORTED_SUFFIXES)
    if not path.is_file() and doc_id not in served:
        raise UnknownDocument(f"no document {doc_id!r}; GET /documents lists them")
    if not any(other != path for _, other in corpus_files(corpus_dir)):
        raise LastDocument(
            f"{doc_id} is the last document; an index needs at least one, so add another first"
        )
    return path


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a reader sees the old file or the new one, never half of one."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")  # hidden: the indexer skips it
    try:
        with temporary.open("xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return the ones created, outermost first."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        created.mkdir()
    return list(reversed(missing))


@dataclass
class Change:
    """One file changed in the corpus, with what it held before, so that it can be undone."""

    path: Path
    previous: bytes | None  # None: the file did not exist
    created: list[Path] = field(default_factory=list)  # folders made for it, outermost first

    def undo(self) -> None:
        if self.previous is None:
            self.path.unlink(missing_ok=True)
        else:
            write_atomically(self.path, self.previous)
        for folder in reversed(self.created):
            with contextlib.suppress(OSError):  # not empty any more: someone else wrote there
                folder.rmdir()


def store(prepared: Prepared) -> Change:
    previous = prepared.path.read_bytes() if prepared.path.is_file() else None
    created = make_folders(prepared.path.parent)
    write_atomically(prepared.path, prepared.data)
    return Change(prepared.path, previous, created)


def remove(path: Path) -> Change:
    previous = path.read_bytes() if path.is_file() else None
    path.unlink(missing_ok=True)
    if path.parent.is_dir():  # the folder may have been removed by hand
        fsync_folder(path.parent)
    return Change(path, previous)
