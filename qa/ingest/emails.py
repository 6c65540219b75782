"""Saved e-mail messages (.eml, RFC 5322 with MIME) rendered to text, the text their citations
index (Python's ``email`` package).

A message reads as its header lines that say who wrote to whom and when (From, To, Cc, Date, and
the Subject, which is its title), a blank line, then its body: the plain-text part when it has
one, else its HTML part rendered by its structure (``qa.ingest.html``, as a Markdown document),
decoded from its transfer encoding and charset. Attachments are not read; their names are listed
on a last line ("Attachments: report.pdf, figures.xlsx"), so a question about them finds the
message that carried them. A message with no text part and no attachment holds nothing.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

from qa.core.errors import DocumentError
from qa.ingest import escaping, html

HEADERS = ("From", "To", "Cc", "Date")
_TEXT = ("text/plain", "text/html")


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header so malformed the policy cannot parse it: left out
        value = ""
    return " ".join(str(value or "").split())


def _content(part: Any) -> str:
    try:
        return str(part.get_content())
    except (LookupError, UnicodeError, ValueError, AssertionError):  # an unknown or lying charset
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")


def render_eml(doc_id: str, data: bytes) -> tuple[str, str, bool]:
    """(text, title, whether the text is Markdown) of an .eml file."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    if not isinstance(message, EmailMessage) or not (message.keys() or message.get_payload()):
        raise DocumentError(f"{doc_id}: not an e-mail message")
    title = _header(message, "Subject")
    lines = [f"{name}: {value}" for name in HEADERS if (value := _header(message, name))]
    body_part = message.get_body(preferencelist=("plain", "html")) or next(
        (part for part in message.walk() if part.get_content_type() in _TEXT and not part.is_attachment()),
        None,
    )  # a delivery report's (multipart/report) text is no "body" to get_body
    body, markdown = "", False
    if body_part is not None:
        body = _content(body_part).replace("\r\n", "\n")
        if body_part.get_content_subtype() == "html" and body.strip():
            try:
                body, _ = html.render_html(doc_id, body.encode("utf-8"))
                markdown = True
            except DocumentError:  # an "HTML" part without a tag: its text as it is
                pass
    names = [str(part.get_filename() or "") for part in message.iter_attachments()]
    attachments = ", ".join(" ".join(name.split()) for name in names if name.strip())
    listed, body = (f"Attachments: {attachments}" if attachments else ""), body.strip("\n")
    if markdown:  # a header line or the attachments line a paragraph of its own, read as written
        blocks = [*(escaping.escape_line(line) for line in lines), body, escaping.escape_line(listed)]
    else:
        blocks = ["\n".join(lines), body, listed]
    text = "\n\n".join(block for block in blocks if block.strip())
    if not body.strip() and not attachments:
        broken = ", ".join(sorted({type(defect).__name__ for defect in message.defects}))
        why = f"its MIME structure is broken ({broken})" if broken else "it has no text part"
        raise DocumentError(f"{doc_id}: nothing to read in the e-mail message: {why}")
    return text + "\n", title, markdown
