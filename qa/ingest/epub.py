"""EPUB books (EPUB 2 and 3) rendered to Markdown, the text their citations index.

An EPUB is a zip of XHTML files; its package document (``META-INF/container.xml`` names it) lists
them in reading order (the spine) and holds the book's title and author. Each spine document is
read by ``qa.ingest.html`` as any HTML page is, by its structure, and the chapters are joined in
reading order: their headings become the heading paths of the passages under them, each chapter's
first heading raised to level 1, so that a chapter never reads as a section of the one before (a
chapter whose text comes before any heading is headed by its own title, else its file's name).
Chapters may be UTF-16 or declare their encoding in their XML declaration. Left out: the EPUB 3
navigation document (a table of contents, only links), spine entries that are no XHTML (an
image), and chapters that hold no text (a cover). A chapter the spine lists that is missing or
cannot be read, and a book whose chapters are encrypted (DRM), are refused with that reason;
fonts obfuscated the standard way are only fonts and are never read.
"""

from __future__ import annotations

import codecs
import io
import posixpath
import re
import zipfile
import zlib
from typing import Any
from urllib.parse import unquote

from qa.core.errors import DocumentError
from qa.ingest import archives, escaping, html

_XHTML = frozenset({"application/xhtml+xml", "text/html", "application/xml"})
# what tools write where a book's metadata has no title or author (calibre's "Unknown", GitBook's
# "Table of Contents"): no title; the file's name stands in
_PLACEHOLDERS = frozenset({"unknown", "untitled", "table of contents", "contents", "title"})
_OPF = "{http://www.idpf.org/2007/opf}"
_MARKS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_DECLARED = re.compile(rb"""\A\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_OPENS_WITH_HEADING = re.compile(r"\A\s*#{1,6} ")
_DC = "{http://purl.org/dc/elements/1.1/}"
_CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
_ENCRYPTION = "{http://www.w3.org/2001/04/xmlenc#}"
# IDPF's and Adobe's font obfuscation: fonts made unusable elsewhere, no text locked
_FONT_OBFUSCATION = frozenset({"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"})


def _xml(doc_id: str, data: bytes, what: str) -> Any:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise DocumentError(f"{doc_id}: not a readable EPUB ({what}: {error})") from error
    if root is None:
        raise DocumentError(f"{doc_id}: not a readable EPUB ({what} is empty)")
    return root


def _member(book: zipfile.ZipFile, doc_id: str, name: str) -> bytes:
    try:
        if book.getinfo(name).file_size > archives.MAX_INFLATED_BYTES:
            raise DocumentError(
                f"{doc_id}: the EPUB's {name} inflates to more than {archives.MAX_INFLATED_BYTES:,} bytes"
            )
        return book.read(name)
    except KeyError as error:
        raise DocumentError(f"{doc_id}: not a readable EPUB ({name} is missing)") from error
    except (zipfile.BadZipFile, OSError, RuntimeError, EOFError, zlib.error) as error:  # corrupt, encrypted,
        # or compressed in a way zipfile cannot inflate (Deflate64: NotImplementedError, a RuntimeError)
        raise DocumentError(f"{doc_id}: not a readable EPUB ({name}: {type(error).__name__})") from error


def _package(book: zipfile.ZipFile, doc_id: str) -> tuple[str, Any]:
    """The package document's path and its root element."""
    container = _xml(doc_id, _member(book, doc_id, "META-INF/container.xml"), "META-INF/container.xml")
    rootfile = next(iter(container.iter(f"{_CONTAINER}rootfile", "rootfile")), None)
    path = str(rootfile.get("full-path") or "") if rootfile is not None else ""
    if not path:
        raise DocumentError(f"{doc_id}: not a readable EPUB (META-INF/container.xml names no package)")
    return path, _xml(doc_id, _member(book, doc_id, path), path)


def _encrypted(book: zipfile.ZipFile, doc_id: str) -> set[str]:
    """The members META-INF/encryption.xml lists as encrypted by anything but font obfuscation."""
    if "META-INF/encryption.xml" not in book.namelist():
        return set()
    root = _xml(doc_id, _member(book, doc_id, "META-INF/encryption.xml"), "META-INF/encryption.xml")
    found = set()
    for data in root.iter(f"{_ENCRYPTION}EncryptedData"):
        method = data.find(f"{_ENCRYPTION}EncryptionMethod")
        algorithm = str(method.get("Algorithm") or "") if method is not None else ""
        if algorithm in _FONT_OBFUSCATION:
            continue
        for reference in data.iter(f"{_ENCRYPTION}CipherReference"):
            found.add(unquote(str(reference.get("URI") or "")))
    return found


def _text(element: Any) -> str:
    return escaping.words("".join(element.itertext())) if element is not None else ""


def _spine(package: Any, base: str) -> list[str]:
    """The member names of the spine's XHTML documents, in reading order, the navigation left out."""
    items = {}
    for item in package.iter(f"{_OPF}item", "item"):
        properties = str(item.get("properties") or "").split()
        if str(item.get("media-type") or "") in _XHTML and "nav" not in properties:
            href = unquote(str(item.get("href") or "").split("#")[0])
            items[str(item.get("id") or "")] = posixpath.normpath(posixpath.join(base, href))
    order = [str(ref.get("idref") or "") for ref in package.iter(f"{_OPF}itemref", "itemref")]
    return [items[idref] for idref in order if idref in items]


def _utf8(raw: bytes) -> bytes:
    """A chapter's bytes as UTF-8: XHTML may be UTF-16 (with a byte order mark) or, when its bytes
    are not UTF-8, in the encoding its XML declaration names, which the HTML parser would not read."""
    for mark, codec in _MARKS:
        if raw.startswith(mark):
            return raw.decode(codec, errors="replace").encode("utf-8")
    try:  # bytes that decode as UTF-8 are UTF-8, whatever they declare (as an HTML page's are)
        raw.decode("utf-8")
        return raw
    except UnicodeDecodeError:
        pass
    declared = _DECLARED.match(raw)
    if declared and declared.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        try:
            return raw.decode(declared.group(1).decode("ascii"), errors="replace").encode("utf-8")
        except LookupError:  # an encoding Python does not know: read as UTF-8, as HTML would be
            return raw
    return raw


def _chapter(name: str, data: bytes) -> Any:
    """A chapter's tree, its headings raised so that the first is a level 1 (none above 1): each
    chapter starts a heading path of its own, never under the last chapter's headings."""
    tree = html.parse_tree(name, data)
    headings = list(tree.iter(*html.HEADINGS))
    raise_by = int(headings[0].tag[1]) - 1 if headings else 0
    for element in headings if raise_by else ():
        element.tag = f"h{max(int(element.tag[1]) - raise_by, 1)}"
    return tree


def render_epub(doc_id: str, data: bytes) -> tuple[str, str, dict[str, str]]:
    """(Markdown text, title, metadata) of an .epub file: its chapters in reading order, titled
    by the book's title (its file's name when it has none), its author and language kept."""
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError) as error:
        raise DocumentError(f"{doc_id}: not a readable EPUB (not a zip archive)") from error
    with book:
        path, package = _package(book, doc_id)
        chapters = _spine(package, posixpath.dirname(path))
        if not chapters:
            raise DocumentError(f"{doc_id}: not a readable EPUB (its spine lists no XHTML document)")
        locked = _encrypted(book, doc_id) & set(chapters)
        if locked:
            raise DocumentError(
                f"{doc_id}: the EPUB is encrypted (DRM: {len(locked)} of its {len(chapters)} chapters); "
                "only a book without DRM can be read"
            )
        # what the chapters hold uncompressed, together: the sizes the zip states are read before
        # any byte is inflated, so a small file that would inflate to gigabytes is refused, not read
        sizes = {info.filename: info.file_size for info in book.infolist()}
        if sum(sizes.get(name, 0) for name in set(chapters)) > archives.MAX_INFLATED_BYTES:
            raise DocumentError(
                f"{doc_id}: the EPUB's chapters inflate to more than {archives.MAX_INFLATED_BYTES:,} bytes"
            )
        parts = []
        for name in chapters:  # a chapter missing or unreadable fails the book, with why
            raw = _utf8(_member(book, doc_id, name))
            if not raw.strip():
                continue  # an empty file: nothing to read
            try:
                body, heading = html.render_html(name, _chapter(name, raw))
            except DocumentError as error:
                raise DocumentError(f"{doc_id}: not a readable EPUB (chapter {error})") from error
            if body.strip():
                if not _OPENS_WITH_HEADING.match(body):  # text before any heading is no part of
                    # the last chapter's last section: the chapter's own title heads it
                    heading = heading or posixpath.splitext(posixpath.basename(name))[0]
                    body = f"# {escaping.escape(heading)}\n\n{body}"
                parts.append(body.strip("\n"))
    title, author, language = (
        _text(package.find(f".//{_DC}{key}")) for key in ("title", "creator", "language")
    )
    found = {key: value for key, value in (("author", author), ("language", language)) if value}
    found = {key: value for key, value in found.items() if value.lower() not in _PLACEHOLDERS}
    title = "" if title.lower() in _PLACEHOLDERS else title
    title = title or posixpath.splitext(posixpath.basename(doc_id.replace("\\", "/")))[0]
    if not parts:
        raise DocumentError(f"{doc_id}: the EPUB holds no text (its chapters are images or empty)")
    return "\n\n".join(parts) + "\n", title, found
