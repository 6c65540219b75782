"""Filters: which documents a question is asked of, by doc_id glob and by front-matter field.

A ``Filter`` is built once at an edge (HTTP ``doc=``/``meta.KEY=``, the CLI's ``--doc``/``--meta``,
the Python API's ``doc=``/``meta=``, the MCP tool's ``doc``/``meta``) by :func:`make_filter`, which
refuses bad syntax with ``InvalidFilter``; the search applies it inside each segment (the dense
search's ID selector, a mask on keyword scores), so ``k`` passages come back whenever ``k``
allowed ones exist.

- ``doc`` globs match the whole ``doc_id``: ``*`` and ``?`` stay within a folder, ``**`` crosses
  folders (``docs/**/*.md`` matches ``docs/a.md`` and ``docs/x/y/a.md``). A document matches when
  any glob does.
- ``meta`` pairs match a document's *fields*: its title and the string values of its metadata
  (front matter, an HTML page's author or date), keys lower-cased as front matter's are. Every key
  must match; a value matches exactly, or as a glob when it holds ``*`` (``*`` is then any text).
- Both given: a document must match both.

A ``Filter`` is frozen and hashable: it is part of the answer cache's key, and crosses to Ray shard
actors by pickling.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from qa.core.errors import InvalidFilter

MAX_GLOBS = 64
MAX_CHARS = 1000
# metadata the pipeline sets (qa.ingest.formats.RESERVED_METADATA but "title"), never a field
PIPELINE_KEYS = frozenset({"page_starts", "body_start", "structure", "furniture"})
_KEY = re.compile(r"[a-z0-9_][a-z0-9_.-]*")
NO_MATCH = "no documents match the filter"


def glob_pattern(glob: str) -> str:
    """A regular expression for ``glob`` over doc_ids: ``**`` any text, ``*``/``?`` within a folder."""
    parts = []
    position = 0
    while position < len(glob):
        if glob.startswith("**/", position):
            parts.append("(?:.*/)?")
            position += 3
        elif glob.startswith("**", position):
            parts.append(".*")
            position += 2
        elif glob[position] == "*":
            parts.append("[^/]*")
            position += 1
        elif glob[position] == "?":
            parts.append("[^/]")
            position += 1
        else:
            parts.append(re.escape(glob[position]))
            position += 1
    return "".join(parts)


def _checked_text(what: str, text: str, example: str) -> str:
    if not isinstance(text, str):
        raise InvalidFilter(f"{what} must be text, not {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise InvalidFilter(f"{what} is empty; give one, e.g. {example}")
    if len(stripped) > MAX_CHARS:
        raise InvalidFilter(f"{what} is {len(stripped)} characters long; the limit is {MAX_CHARS}")
    if any(ord(char) < 32 for char in stripped):
        raise InvalidFilter(f"{what} contains a control character")
    return stripped


def _checked_glob(glob: str) -> str:
    checked = _checked_text("a doc glob", glob, "doc=docs/*.md or doc=docs/**")
    if "***" in checked:
        raise InvalidFilter(f"doc glob {checked!r}: use * (within a folder) or ** (across folders), not ***")
    return checked


def _checked_key(key: str) -> str:
    lowered = _checked_text("a meta key", key, "meta.author=Ada").lower()
    if not _KEY.fullmatch(lowered):
        raise InvalidFilter(
            f"meta key {key!r}: use a front-matter field name (letters, digits, _ . -), e.g. meta.author=..."
        )
    if lowered in PIPELINE_KEYS:
        raise InvalidFilter(f"meta key {key!r} is set by qa itself, not a front-matter field")
    return lowered


def _value_pattern(value: str) -> re.Pattern[str] | None:
    return re.compile(".*".join(map(re.escape, value.split("*"))), re.DOTALL) if "*" in value else None


@dataclass(frozen=True)
class Filter:
    """Documents a question is asked of: ``docs`` globs on doc_id (any), ``meta`` field values
    (every key; of several values for one key, any)."""

    docs: tuple[str, ...] = ()
    meta: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.docs or self.meta)

    @cached_property
    def _doc_regex(self) -> re.Pattern[str] | None:
        if not self.docs:
            return None
        return re.compile("|".join(f"(?:{glob_pattern(glob)})" for glob in self.docs), re.DOTALL)

    @cached_property
    def _meta_tests(self) -> dict[str, list[tuple[str, re.Pattern[str] | None]]]:
        tests: dict[str, list[tuple[str, re.Pattern[str] | None]]] = {}
        for key, value in self.meta:
            tests.setdefault(key, []).append((value, _value_pattern(value)))
        return tests

    def matches(self, doc_id: str, fields: Mapping[str, str]) -> bool:
        regex = self._doc_regex
        if regex is not None and not regex.fullmatch(doc_id):
            return False
        for key, wanted in self._meta_tests.items():
            value = fields.get(key)
            if value is None or not any(
                value == text if pattern is None else pattern.fullmatch(value) for text, pattern in wanted
            ):
                return False
        return True

    def describe(self) -> str:
        """The filter as the HTTP query string would write it."""
        return ", ".join([*(f"doc={glob}" for glob in self.docs), *(f"meta.{k}={v}" for k, v in self.meta)])


def meta_pairs(items: Sequence[str]) -> list[tuple[str, str]]:
    """``KEY=VALUE`` strings (the CLI's ``--meta``) as (key, value) pairs."""
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidFilter(f"meta filter {item!r}: write KEY=VALUE, e.g. author=Ada")
        pairs.append((key, value))
    return pairs


def make_filter(
    doc: str | Sequence[str] | None = None,
    meta: Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]] | None = None,
) -> Filter | None:
    """A checked, normalised ``Filter`` (sorted, duplicates removed, so equal filters hash alike),
    or None when nothing is filtered; ``InvalidFilter`` says what is wrong."""
    globs = [doc] if isinstance(doc, str) else list(doc or [])
    pairs: list[tuple[str, Any]] = []
    if isinstance(meta, Mapping):
        for key, value in meta.items():
            values = [value] if isinstance(value, str) else list(value)
            pairs.extend((key, item) for item in values)
    else:
        pairs = list(meta or [])
    if len(globs) + len(pairs) > MAX_GLOBS:
        raise InvalidFilter(f"{len(globs) + len(pairs)} filters; the limit is {MAX_GLOBS}")
    checked_docs = tuple(sorted({_checked_glob(glob) for glob in globs}))
    checked_meta = tuple(
        sorted({(_checked_key(k), _checked_text(f"meta.{k}", v, f"meta.{k}=VALUE")) for k, v in pairs})
    )
    made = Filter(checked_docs, checked_meta)
    return made or None


def document_fields(title: str, metadata: Mapping[str, Any]) -> dict[str, str]:
    """What ``meta`` filters see of a document: its title and its metadata's plain values."""
    fields = {
        str(key).lower(): str(value)
        for key, value in metadata.items()
        if key not in PIPELINE_KEYS and isinstance(value, str | int | float | bool)
    }
    fields["title"] = title
    return fields
