"""Saved e-mail messages (.eml, RFC 5322 with MIME) rendered to text, the text their citations
index (Python's ``email`` package).

A message reads as its header lines that say who wrote to whom and when (From, To, Cc, Date, and
the Subject, which is its title), a blank line, then its body: every text part in order that is
no attachment (of alternatives, the plain text when it says anything, else the HTML, rendered by
its structure by ``qa.ingest.html`` as a Markdown document), each decoded from its transfer
encoding and charset. Attachments are not read, a forwarded message attached neither; their
names (a forwarded message's subject) are listed on a last line ("Attachments: report.pdf,
figures.xlsx"), so a question about them finds the message that carried them. A MIME boundary
left unquoted with characters the standard parser stops at (Outlook's ``----=_NextPart_...``) is
read whole. Bytes with none of a message's headers, a message with no text part and no
attachment, and one whose parts cannot be read are refused with that reason.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from typing import Any

from qa.core.errors import DocumentError
from qa.ingest import escaping, html

HEADERS = ("From", "To", "Cc", "Date")
# a message has at least one of these header lines near its start (obsolete syntax, "From  :",
# and a header block a broken line cut short included); bytes with none are no message
_MESSAGE_HEADER = re.compile(rb"^(?:from|to|subject|date|message-id|mime-version)[ \t]*:", re.I | re.M)
_TEXT = ("text/plain", "text/html")


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header so malformed the policy cannot parse it: left out
        value = ""
    return escaping.words(str(value or ""))


def _content(part: Any) -> str:
    try:
        return str(part.get_content())
    except (LookupError, UnicodeError, ValueError, AssertionError):  # an unknown or lying charset
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")


def _parsed(data: bytes) -> EmailMessage:
    """The message; a multipart whose boundary the default policy cut short (unquoted, holding
    "=") is read again with the boundary the older parser finds."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    if message.get_content_maintype() == "multipart" and not message.is_multipart():
        boundary = email.message_from_bytes(data).get_boundary()  # compat32 reads it whole
        if boundary and boundary != message.get_boundary():
            message.set_boundary(boundary)
            message = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _texts(part: EmailMessage) -> list[tuple[str, str]]:
    """(subtype, decoded text) of each text part of ``part`` to read, in order, attachments not
    entered; each part decoded once."""
    if part.is_attachment():
        return []
    kind = part.get_content_type()
    if kind in _TEXT:
        return [(part.get_content_subtype(), _content(part).replace("\r\n", "\n"))]
    if not part.is_multipart() or kind == "message/rfc822":
        return []
    children = [child for child in part.iter_parts() if isinstance(child, EmailMessage)]
    if kind == "multipart/alternative":
        found = [_texts(child) for child in children]
        for wanted in ("plain", "html"):  # the plain text when it says anything, else the HTML
            for texts in found:
                if len(texts) == 1 and texts[0][0] == wanted and texts[0][1].strip():
                    return texts
        return next((texts for texts in found if texts), [])
    return [text for child in children for text in _texts(child)]


def _attachments(message: EmailMessage) -> str:
    if not message.is_multipart():
        parts: list[Any] = [message] if message.is_attachment() else []
    else:
        parts = list(message.iter_attachments())
    names = []
    for part in parts:
        name = escaping.words(str(part.get_filename() or ""))
        if not name and part.get_content_type() == "message/rfc822":
            inner = part.get_content()
            name = (
                f'forwarded message "{_header(inner, "Subject")}"' if isinstance(inner, EmailMessage) else ""
            )
        names.append(name or part.get_content_type())
    return ", ".join(names)


def _as_markdown_text(text: str) -> str:
    return "\n\n".join(
        escaping.escape_line(paragraph) for paragraph in text.split("\n\n") if paragraph.strip()
    )


def _body(doc_id: str, parts: list[tuple[str, str]]) -> tuple[str, bool]:
    """The text parts as one body, and whether it is Markdown (when any part is HTML: then a plain
    part's paragraphs are escaped as text)."""
    markdown = any(subtype == "html" for subtype, _ in parts)
    blocks = []
    for subtype, text in parts:
        if "\x00" in text:
            raise DocumentError(f"{doc_id}: not an e-mail message (binary content in its text)")
        if not text.strip():
            continue
        if subtype == "html":
            try:
                text, _ = html.render_html(doc_id, text.encode("utf-8"))
            except DocumentError:  # an "HTML" part without a tag: its text as it is
                text = _as_markdown_text(text)
        elif markdown:
            text = _as_markdown_text(text)
        blocks.append(text.strip("\n"))
    return "\n\n".join(block for block in blocks if block.strip()), markdown


def render_eml(doc_id: str, data: bytes) -> tuple[str, str, bool]:
    """(text, title, whether the text is Markdown) of an .eml file."""
    try:
        message = _parsed(data)
        if not _MESSAGE_HEADER.search(data, 0, 65536):
            raise DocumentError(f"{doc_id}: not an e-mail message (no From, To, Subject or Date header)")
        title = _header(message, "Subject")
        lines = [f"{name}: {value}" for name in HEADERS if (value := _header(message, name))]
        body, markdown = _body(doc_id, _texts(message))
        attachments = _attachments(message)
    except DocumentError:
        raise
    except (RecursionError, ValueError, LookupError, TypeError, AttributeError, IndexError) as error:
        raise DocumentError(f"{doc_id}: not a readable e-mail message ({type(error).__name__})") from error
    if not body.strip() and not attachments:
        broken = ", ".join(sorted({type(defect).__name__ for defect in message.defects}))
        why = f"its MIME structure is broken ({broken})" if broken else "it has no text part"
        raise DocumentError(f"{doc_id}: nothing to read in the e-mail message: {why}")
    listed = f"Attachments: {attachments}" if attachments else ""
    if markdown:  # a header line or the attachments line a paragraph of its own, read as written
        blocks = [*(escaping.escape_line(line) for line in lines), body, escaping.escape_line(listed)]
    else:
        blocks = ["\n".join(lines), body, listed]
    return "\n\n".join(block for block in blocks if block.strip()) + "\n", title, markdown
