"""The world's CSV files, written chunk by chunk (UTF-8, "\\n" line ends, quoted as needed)."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray


class CsvFiles:
    """Open CSV files by name; each gets its header once and rows appended per chunk."""

    def __init__(self, root: Path, layout: Mapping[str, tuple[str, Sequence[str]]]) -> None:
        self.root = root
        self.layout = dict(layout)
        self.rows = dict.fromkeys(self.layout, 0)
        self._handles: dict[str, IO[str]] = {}
        self._writers: dict[str, Any] = {}

    def __enter__(self) -> CsvFiles:
        for name, (relative, columns) in self.layout.items():
            path = self.root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = path.open("w", encoding="utf-8", newline="")
            self._handles[name] = handle
            self._writers[name] = csv.writer(handle, lineterminator="\n")
            self._writers[name].writerow(columns)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for handle in self._handles.values():
            handle.close()

    def path(self, name: str) -> Path:
        return self.root / self.layout[name][0]

    def write(self, name: str, columns: Mapping[str, NDArray[Any]]) -> None:
        """Append rows given as one array per column, in the file's column order."""
        expected = list(self.layout[name][1])
        if list(columns) != expected:
            raise ValueError(f"{name}: columns {list(columns)} do not match {expected}")
        values = [np.asarray(columns[c]).tolist() for c in expected]
        self._writers[name].writerows(zip(*values, strict=True))
        self.rows[name] += len(values[0]) if values else 0
