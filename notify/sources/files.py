"""The files order source: the four order files of a folder (what ``--orders DIR`` reads)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from notify.orders import load_order_files


class FileSource:
    """Order files (CSV or Parquet) in one folder; every load reads them whole."""

    kind = "files"

    def __init__(self, directory: Path, name: str = "files") -> None:
        self.name = name
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"FileSource(name={self.name!r}, directory={str(self.directory)!r})"

    def extract(
        self, store: Engine, *, run_id: str | None = None, full_refresh: bool = False
    ) -> dict[str, Any]:
        """Load the folder (files are always read whole, so ``full_refresh`` changes nothing)."""
        loaded = load_order_files(store, self.directory, run_id)
        return {"loaded": loaded.loaded, "rejected": loaded.rejected}
