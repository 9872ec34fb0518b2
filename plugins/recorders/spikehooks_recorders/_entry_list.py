"""Indexing shared by the read-only lists of recorded entries (in memory and streamed)."""

from __future__ import annotations

from typing import Any


class EntryIndexing:
    """``lst[k]`` (negative from the end) and ``lst[a:b]`` (a list) over ``_entry(k)``.

    Subclasses provide ``__len__`` and ``_entry(k)`` for ``0 <= k < len``;
    ``_index_name`` names an index in the ``IndexError`` message.
    """

    _index_name = "entry"

    def __len__(self) -> int:
        raise NotImplementedError

    def _entry(self, k: int) -> Any:
        raise NotImplementedError

    def __getitem__(self, index: Any) -> Any:
        n = len(self)
        if isinstance(index, slice):
            return [self._entry(i) for i in range(*index.indices(n))]
        k = int(index)
        if k < 0:
            k += n
        if not 0 <= k < n:
            raise IndexError(f"{self._index_name} {index} out of range for {n} entries")
        return self._entry(k)
