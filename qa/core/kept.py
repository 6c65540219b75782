"""A bounded map of the latest values put: what a reader of immutable data keeps to avoid reading
(or decoding) the same thing again. First in, first out: once the weights of its values pass
``most``, the oldest go. Safe between threads (``put`` holds a lock; ``get`` is a dict look-up)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Kept(Generic[K, V]):
    """The latest values put, at most ``most`` in weight (each weighs ``weight(value)``, 1 by default)."""

    def __init__(self, most: int, weight: Callable[[V], int] | None = None) -> None:
        self.most = most
        self._weight = weight or (lambda _: 1)
        self._values: OrderedDict[K, V] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        return self._values.get(key)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            if key in self._values:
                return
            self._values[key] = value
            self._total += self._weight(value)
            while self._total > self.most and self._values:
                _, dropped = self._values.popitem(last=False)
                self._total -= self._weight(dropped)

    def __len__(self) -> int:
        return len(self._values)
