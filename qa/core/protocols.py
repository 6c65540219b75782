"""The interfaces between layers: what a parser, an encoder, a reader and a token codec must do.

Each is a ``typing.Protocol``: an implementation needs the methods, not a base class. The
manifest records the ``name`` (and version, where one is given) of every component that made an
index, so an index describes itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from qa.core.types import Answer, Document, Evidence, Query, TokenVectors, Vectors


class Parser(Protocol):
    """The bytes of a file and its doc_id to a ``Document`` (``DocumentError`` when it cannot)."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> int: ...

    def parse(self, doc_id: str, data: bytes) -> Document: ...


class Encoder(Protocol):
    """Texts to L2-normalised vectors, plus each text's contextual word-piece vectors with the
    character offset where each piece starts (for late interaction and answer sentences).
    ``offsets=True`` marks passages a build stores: an encoder may embed those by a cheaper copy of
    its model, named by its ``passage_precision`` (recorded in the index); questions always get
    the model itself."""

    name: str
    dimension: int
    max_tokens: int  # word pieces the model reads, special tokens excluded

    @property
    def passage_precision(self) -> str:
        """What embeds the passages a build stores: "float32" for the model itself."""

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> Vectors: ...

    def embed_with_tokens(
        self, texts: Sequence[str], batch_size: int = 64, offsets: bool = True
    ) -> tuple[Vectors, list[TokenVectors]]: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def truncate(self, text: str, budget: int) -> str: ...


class Reader(Protocol):
    """A question and the evidence of its top passages to the answer sentence, or None when the
    passages do not answer it."""

    @property
    def name(self) -> str: ...

    def read(self, query: Query, evidence: Sequence[Evidence]) -> Answer | None: ...


class TokenCodec(Protocol):
    """Word-piece vectors in and out of storage: ``decode(encode(v))`` approximates ``v``."""

    @property
    def name(self) -> str: ...

    @property
    def dtype(self) -> str:
        """The numpy dtype of a stored row's values."""
        ...

    def width(self, dimension: int) -> int:
        """Values of ``dtype`` one vector of ``dimension`` takes."""
        ...

    def encode(self, vectors: npt.NDArray[Any]) -> npt.NDArray[Any]: ...

    def decode(self, stored: npt.NDArray[Any]) -> npt.NDArray[np.float32]: ...

    def save(self, folder: Path) -> None:
        """Keep what the codec learnt (centroids, cut-offs) in ``folder``, beside what it encoded."""
        ...
