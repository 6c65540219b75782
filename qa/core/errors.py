"""Every error the core raises for a problem the user can fix, in one place.

Each message says what was wrong and what to do. The edges translate them: ``qa.http`` into a 4xx
or 503 with a JSON ``detail`` (``qa.http.app.REFUSAL_STATUS``), the CLI into one line on stderr.
"""

from __future__ import annotations


class DocumentError(ValueError):
    """A file that cannot be turned into a document; the message says which and why."""


class ModelLoadError(RuntimeError):
    """The model could not be loaded; the message lists what was tried."""


class InvalidQuestion(ValueError):
    """A question that cannot be asked (empty, too long, control characters)."""


class InvalidFilter(ValueError):
    """A ``doc`` glob or ``meta`` filter that cannot be applied; the message says what to write."""


class NotReady(RuntimeError):
    """The model or the index is not loaded (yet); the message says which, and why."""


# Writes through the API.


class IngestError(ValueError):
    """A document refused by the write API; the message says what was wrong."""


class InvalidDocId(IngestError):
    pass


class TooLarge(IngestError):
    pass


class UnsupportedContent(IngestError):
    """The bytes are not what the suffix says (a binary file named .txt, a .pdf that is not a PDF)."""


class UnreadableDocument(IngestError):
    """The right kind of file, but no text can be indexed from it."""


class DuplicateContent(IngestError):
    def __init__(self, doc_id: str, existing: str) -> None:
        super().__init__(
            f"{doc_id}: the same text is already indexed as {existing!r}; "
            f"post to doc_id {existing!r} to replace it, or delete it first"
        )
        self.existing = existing


class UnknownDocument(IngestError):
    pass


class LastDocument(IngestError):
    """Deleting it would leave nothing to index."""


class WriterBusy(RuntimeError):
    """Another write job of this server is running."""


# The index on disk.


class EmptyCorpus(ValueError):
    """A corpus folder with no document to index; the message names the folder and the formats,
    ``skipped`` the files found there that could not be indexed, with why."""

    def __init__(self, message: str, skipped: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.skipped = skipped or []


class IndexError_(RuntimeError):
    """Base for index problems that the user can fix; the message says how."""


class IndexNotFound(IndexError_):
    pass


class IndexMismatch(IndexError_):
    pass


class IndexCorrupt(IndexError_):
    pass


class IndexWriteFailed(IndexError_):
    """The file system refused a new generation (full disk, quota, read-only); nothing changed."""


class BuildInProgress(IndexError_):
    """Another process is building this index."""
