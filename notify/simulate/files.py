"""The world's CSV files, written chunk by chunk (UTF-8, "\\n" line ends, quoted as needed)."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

_SPECIAL = (",", '"', "\r", "\n")


class CsvFiles:
    """Open CSV files by name; each gets its header once and rows appended per chunk."""

    def __init__(self, root: Path, layout: Mapping[str, tuple[str, Sequence[str]]]) -> None:
        self.root = root
        self.layout = dict(layout)
        self.rows = dict.fromkeys(self.layout, 0)
        self._handles: dict[str, IO[str]] = {}

    def __enter__(self) -> CsvFiles:
        for name, (relative, columns) in self.layout.items():
            path = self.root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = path.open("w", encoding="utf-8", newline="")
            self._handles[name] = handle
            csv.writer(handle, lineterminator="\n").writerow(columns)
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
        """Append rows given as one array per column, in the file's column order.

        Rows are joined in C after quoting each distinct value once (as ``csv`` does with
        its minimal quoting: values holding a comma, quote or line break), which is several
        times faster than ``csv.writer`` and writes the same bytes.
        """
        expected = list(self.layout[name][1])
        if list(columns) != expected:
            raise ValueError(f"{name}: columns {list(columns)} do not match {expected}")
        fields = [_quoted(np.asarray(columns[c])) for c in expected]
        if not fields[0]:
            return
        lines = map(",".join, zip(*fields, strict=True))
        self._handles[name].write("\n".join(lines) + "\n")
        self.rows[name] += len(fields[0])


def _quoted(values: NDArray[Any]) -> list[str]:
    """Column values as CSV text, quoted where needed (each distinct value checked once)."""
    plain: list[str] = (
        values.astype(str).tolist() if values.dtype.kind in "iub" else values.tolist()
    )
    joined = "\x00".join(plain)
    if not any(mark in joined for mark in _SPECIAL):
        return plain
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    text = pd.Series(uniques, dtype=object).astype(str)
    special = text.str.contains(r'[,"\r\n]', regex=True)
    text[special] = '"' + text[special].str.replace('"', '""') + '"'
    out: list[str] = text.to_numpy(dtype=object)[codes].tolist()
    return out
