"""Zip-based formats (Word, PowerPoint, Excel): refused before they are read when they would
inflate past a limit. Their libraries read every part whole, so a file of a few megabytes whose
parts state gigabytes would take that much memory; the sizes a zip states are read first, and
Python's zipfile never inflates a part past the size it states (a part that lies fails its check).
"""

from __future__ import annotations

import io
import zipfile

from qa.core.errors import DocumentError

MAX_INFLATED_BYTES = 512 * 1024 * 1024


def check_inflation(doc_id: str, data: bytes, what: str, limit: int | None = None) -> None:
    """A DocumentError when ``data`` is no zip archive, or its parts together state more than
    ``limit`` bytes (``MAX_INFLATED_BYTES`` by default); ``what`` names the format ("a Word document")."""
    try:
        stated = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise DocumentError(f"{doc_id}: not {what} (not a readable zip archive)") from error
    limit = MAX_INFLATED_BYTES if limit is None else limit
    if stated > limit:
        raise DocumentError(f"{doc_id}: {what} that inflates to more than {limit:,} bytes")
