"""Timing and peak memory of one step, sampled from the process's resident set."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil


@dataclass
class Step:
    name: str
    rows: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    start_rss_mb: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second, 1),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "start_rss_mb": round(self.start_rss_mb, 1),
            "detail": self.detail,
        }


@contextmanager
def measured(name: str, interval: float = 0.02) -> Iterator[Step]:
    process = psutil.Process()
    step = Step(name)
    step.start_rss_mb = process.memory_info().rss / 2**20
    peak = [step.start_rss_mb]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(interval):
            peak[0] = max(peak[0], process.memory_info().rss / 2**20)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        yield step
    finally:
        step.seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        step.peak_rss_mb = max(peak[0], process.memory_info().rss / 2**20)


def timed(name: str, fn: Callable[[], Any], rows: Callable[[Any], int]) -> Step:
    with measured(name) as step:
        result = fn()
    step.rows = rows(result)
    return step


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A new folder for one run's world, store and spool files, removed afterwards (a
    million-order run leaves gigabytes), also when the run fails."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)
