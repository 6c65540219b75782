"""``qa.core.kept.Kept``: the latest values put, bounded by weight, the oldest dropped first."""

from __future__ import annotations

import threading

from qa.core.kept import Kept


def test_the_oldest_go_once_the_weight_passes_the_bound() -> None:
    kept: Kept[str, str] = Kept(5, len)
    kept.put("a", "xx")
    kept.put("b", "yy")
    assert kept.get("a") == "xx" and len(kept) == 2
    kept.put("c", "zz")  # 6 > 5: "a" goes
    assert kept.get("a") is None and kept.get("b") == "yy" and kept.get("c") == "zz"
    kept.put("b", "other")  # already kept: unchanged, and not counted twice
    assert kept.get("b") == "yy" and len(kept) == 2


def test_entries_counted_by_default_and_a_value_heavier_than_the_bound_is_not_kept() -> None:
    kept: Kept[int, str] = Kept(2)
    for key in range(5):
        kept.put(key, str(key))
    assert [kept.get(key) for key in range(5)] == [None, None, None, "3", "4"]
    heavy: Kept[int, str] = Kept(3, len)
    heavy.put(1, "four")
    assert heavy.get(1) is None and len(heavy) == 0


def test_puts_from_many_threads_keep_the_bound() -> None:
    kept: Kept[int, int] = Kept(100)

    def fill(first: int) -> None:
        for key in range(first, first + 1000):
            kept.put(key, key)

    threads = [threading.Thread(target=fill, args=(n * 1000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(kept) == 100
