"""Filters: which documents a question is asked of, by doc_id glob and by front-matter field.

A ``Filter`` is built once at an edge (HTTP ``doc=``/``meta.KEY=``, the CLI's ``--doc``/``--meta``,
the Python API's ``doc=``/``meta=``, the MCP tool's ``doc``/``meta``) by :func:`make_filter`, which
refuses bad syntax with ``InvalidFilter``; the search applies it inside each segment (the dense
search's ID selector, a mask on keyword scores), so ``k`` passages come back whenever ``k``
allowed ones exist.

- ``doc`` globs match the whole ``doc_id``: ``*`` and ``?`` stay within a folder, ``**`` (a whole
  folder part) is any number of folders (``docs/**/*.md`` matches ``docs/a.md`` and
  ``docs/x/y/a.md``; ``docs/**`` everything under ``docs/``). A document matches when any glob does.
  Matching never backtracks, whatever the glob (``Glob``).
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
PIPELINE_KEYS = frozenset({"page_starts", "body_start", "structure", "furniture", "pdf_headings"})
_KEY = re.compile(r"[a-z0-9_][a-z0-9_.-]*")
NO_MATCH = "no documents match the filter"


def _segment_pattern(segment: str, any_one: str = "?") -> re.Pattern[str]:
    """One folder part of a glob (``*`` any run of characters, ``?`` one), as fnmatch builds it: a
    run of text after a ``*`` is matched at its first occurrence, atomically, so no glob can make
    the match backtrack (a part holds no ``/``, and ``*`` is its only wildcard, so the first
    occurrence is always the right one)."""
    pieces = re.split(r"(\*+)", segment)
    literal = ["".join("." if c == any_one else re.escape(c) for c in piece) for piece in pieces[::2]]
    parts = [literal[0]]
    for text in literal[1:-1]:
        parts.append(f"(?>.*?{text})")
    if len(literal) > 1:
        parts.append(".*" + literal[-1])
    return re.compile("".join(parts), re.DOTALL)


@dataclass(frozen=True)
class Glob:
    """A doc_id glob by folder parts: ``**`` (a whole part) is any number of folders."""

    parts: tuple[re.Pattern[str] | None, ...]  # None for **

    @classmethod
    def of(cls, glob: str) -> Glob:
        parts: list[re.Pattern[str] | None] = []
        for part in glob.split("/"):
            if part == "**":
                if not parts or parts[-1] is not None:
                    parts.append(None)  # a/**/**/b is a/**/b
            elif "**" in part:
                raise InvalidFilter(
                    f"doc glob {glob!r}: ** stands for whole folders (docs/**/*.md, docs/**); "
                    "within a name, * is any text"
                )
            else:
                parts.append(_segment_pattern(part))
        return cls(tuple(parts))

    def matches(self, doc_id: str) -> bool:
        reachable = {0}  # how many glob parts the folders read so far can have matched
        for name in doc_id.split("/"):
            reachable = {
                i + (self.parts[i] is not None)
                for i in self._closure(reachable)
                if i < len(self.parts) and self._fits(i, name)
            }
            if not reachable:
                return False
        return len(self.parts) in self._closure(reachable)

    def _fits(self, i: int, name: str) -> bool:
        pattern = self.parts[i]
        return pattern is None or pattern.fullmatch(name) is not None

    def _closure(self, reachable: set[int]) -> set[int]:
        """Also the positions past a ** that may stand for no folder."""
        found = set(reachable)
        for i in sorted(reachable):
            while i < len(self.parts) and self.parts[i] is None:
                i += 1
                found.add(i)
        return found


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
    if any("\ud800" <= char <= "\udfff" for char in stripped):
        raise InvalidFilter(f"{what} contains an unpaired surrogate; send valid Unicode text")
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
    return _segment_pattern(value, any_one="") if "*" in value else None


@dataclass(frozen=True)
class Filter:
    """Documents a question is asked of: ``docs`` globs on doc_id (any), ``meta`` field values
    (every key; of several values for one key, any)."""

    docs: tuple[str, ...] = ()
    meta: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.docs or self.meta)

    @cached_property
    def _globs(self) -> list[Glob]:
        return [Glob.of(glob) for glob in self.docs]

    @cached_property
    def _meta_tests(self) -> dict[str, list[tuple[str, re.Pattern[str] | None]]]:
        tests: dict[str, list[tuple[str, re.Pattern[str] | None]]] = {}
        for key, value in self.meta:
            tests.setdefault(key, []).append((value, _value_pattern(value)))
        return tests

    def matches(self, doc_id: str, fields: Mapping[str, str]) -> bool:
        if self.docs and not any(glob.matches(doc_id) for glob in self._globs):
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
    for glob in checked_docs:
        Glob.of(glob)  # refuses ** within a name
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
