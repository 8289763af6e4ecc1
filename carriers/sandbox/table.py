"""Columnar storage of a world tracking file, keyed by (carrier, tracking number).

A world may hold millions of scans, so rows are never turned into Python objects up front.
Each file is read in chunks with pandas and kept as numpy arrays sorted by carrier, number
and time: repeated text (status, city, ...) as small integer codes into a list of distinct
values, timestamps as UTC nanoseconds plus the offset they were written with, tracking
numbers once per shipment as fixed-width bytes. Finding a shipment is two binary searches
and yields a slice of rows; only the rows a request asks for become Python objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

CHUNK_ROWS = 500_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OFFSET = re.compile(r"(?:([+-])(\d\d):?(\d\d)|Z)$")
_ZONES: dict[int, timezone] = {}

# Kinds of an ETA bound (see Bounds).
EMPTY, DAY, INSTANT = 0, 1, 2


def read_chunks(
    path: Path, columns: Sequence[str], text: Sequence[str], optional: Sequence[str] = ()
) -> Iterator[pd.DataFrame]:
    """The file in chunks of strings; ``text`` columns come as categoricals, "" for empty.
    An ``optional`` column the file lacks comes as all empty."""
    header = pd.read_csv(path, nrows=0).columns
    absent = [c for c in columns if c not in header]
    if absent:
        raise ValueError(
            f"{path}: missing column(s) {', '.join(absent)}; expected {', '.join(columns)}"
        )
    present = [*columns, *(c for c in optional if c in header)]
    missing = [c for c in optional if c not in header]
    dtypes = {c: ("category" if c in text else str) for c in present}
    for chunk in pd.read_csv(
        path,
        usecols=present,
        dtype=dtypes,
        keep_default_na=False,
        chunksize=CHUNK_ROWS,
    ):
        for column in missing:
            chunk[column] = pd.Categorical([""] * len(chunk))
        yield chunk


def ascii_bytes(values: pd.Series, label: str) -> np.ndarray:
    """A column of strings as a fixed-width bytes array (no Python object per row)."""
    try:
        return values.to_numpy(dtype=object).astype("S")
    except UnicodeEncodeError:
        raise ValueError(f"{label}: values must be ASCII") from None


def _tails(raw: np.ndarray, lengths: np.ndarray, size: int) -> np.ndarray:
    """The last ``size`` bytes of each string (fewer, NUL-padded, for shorter ones)."""
    width = raw.dtype.itemsize
    matrix = raw.view(np.uint8).reshape(len(raw), width)
    columns = lengths[:, None] - size + np.arange(size)
    tails = np.take_along_axis(matrix, np.clip(columns, 0, width - 1), axis=1)
    tails[columns < 0] = 0
    return np.ascontiguousarray(tails).view(f"S{size}").ravel()


def zone(offset_minutes: int) -> timezone:
    tz = _ZONES.get(offset_minutes)
    if tz is None:
        tz = _ZONES[offset_minutes] = timezone(timedelta(minutes=offset_minutes))
    return tz


def to_datetime(utc_ns: int, offset_minutes: int) -> datetime:
    """The aware datetime, shown with the offset it was written with."""
    instant = _EPOCH + timedelta(microseconds=utc_ns // 1000)
    return instant.astimezone(zone(offset_minutes))


def to_ns(moment: datetime) -> int:
    """UTC nanoseconds of an aware datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"as-of time {moment.isoformat()} has no UTC offset")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


@dataclass(frozen=True)
class Instants:
    """Aware timestamps: UTC nanoseconds (int64) and written offset in minutes (int16)."""

    utc_ns: np.ndarray
    offsets: np.ndarray

    @classmethod
    def parse(cls, values: pd.Series, label: str) -> Instants:
        """ISO 8601 strings that must each carry an offset (never read as UTC silently)."""
        return cls.parse_bytes(ascii_bytes(values, label), label)

    @classmethod
    def parse_bytes(cls, raw: np.ndarray, label: str) -> Instants:
        """Like :meth:`parse`, for a fixed-width bytes array.

        The offset is read from the distinct tails of the strings and cut off; numpy then
        parses the naive local part, far faster than parsing mixed offsets row by row.
        """
        lengths = np.strings.str_len(raw)
        distinct, which = np.unique(_tails(raw, lengths, 6), return_inverse=True)
        minutes = np.zeros(len(distinct), np.int64)
        cuts = np.zeros(len(distinct), np.int64)
        for i, tail in enumerate(distinct.tolist()):
            match = _OFFSET.search(tail.decode("ascii"))
            if match is None:
                example = raw[which == i][0].decode("ascii")
                raise ValueError(
                    f"{label}: {example!r} has no UTC offset; write ISO 8601 times with "
                    "an offset, e.g. 2026-11-20T10:00:00+01:00"
                )
            sign, hours, mins = match.groups()
            value = 0 if sign is None else int(hours) * 60 + int(mins)
            minutes[i] = -value if sign == "-" else value
            cuts[i] = match.end() - match.start()
        offsets = minutes[which]
        local = np.strings.slice(raw, 0, lengths - cuts[which])
        try:
            local_ns = local.astype("datetime64[ns]").astype(np.int64)
        except ValueError as exc:
            raise ValueError(f"{label}: unreadable timestamp ({exc})") from None
        return cls(local_ns - offsets * 60_000_000_000, offsets.astype(np.int16))

    @classmethod
    def join(cls, parts: Sequence[Instants]) -> Instants:
        if not parts:
            return cls(np.empty(0, np.int64), np.empty(0, np.int16))
        return cls(
            np.concatenate([p.utc_ns for p in parts]),
            np.concatenate([p.offsets for p in parts]),
        )

    def take(self, order: np.ndarray) -> Instants:
        return Instants(self.utc_ns[order], self.offsets[order])

    def at(self, row: int) -> datetime:
        return to_datetime(int(self.utc_ns[row]), int(self.offsets[row]))


@dataclass(frozen=True)
class Bounds:
    """An ETA bound per row: empty, a day, or an aware instant (see EMPTY, DAY, INSTANT).

    ``value`` holds days since 1970-01-01 for a day and UTC nanoseconds for an instant.
    """

    kinds: np.ndarray
    values: np.ndarray
    offsets: np.ndarray

    @classmethod
    def parse(cls, values: pd.Series, label: str) -> Bounds:
        raw = ascii_bytes(values, label)
        lengths = np.strings.str_len(raw)
        kinds = np.full(len(raw), EMPTY, np.int8)
        numbers = np.zeros(len(raw), np.int64)
        offsets = np.zeros(len(raw), np.int16)
        day = lengths == 10
        instant = (lengths > 0) & ~day
        if day.any():
            try:
                numbers[day] = raw[day].astype("datetime64[D]").astype(np.int64)
            except ValueError as exc:
                raise ValueError(f"{label}: unreadable date ({exc})") from None
            kinds[day] = DAY
        if instant.any():
            parsed = Instants.parse_bytes(raw[instant], label)
            numbers[instant] = parsed.utc_ns
            offsets[instant] = parsed.offsets
            kinds[instant] = INSTANT
        return cls(kinds, numbers, offsets)

    @classmethod
    def join(cls, parts: Sequence[Bounds]) -> Bounds:
        if not parts:
            return cls(np.empty(0, np.int8), np.empty(0, np.int64), np.empty(0, np.int16))
        return cls(
            np.concatenate([p.kinds for p in parts]),
            np.concatenate([p.values for p in parts]),
            np.concatenate([p.offsets for p in parts]),
        )

    def take(self, order: np.ndarray) -> Bounds:
        return Bounds(self.kinds[order], self.values[order], self.offsets[order])

    def at(self, row: int) -> date | datetime | None:
        kind = int(self.kinds[row])
        if kind == DAY:
            return date(1970, 1, 1) + timedelta(days=int(self.values[row]))
        if kind == INSTANT:
            return to_datetime(int(self.values[row]), int(self.offsets[row]))
        return None


@dataclass(frozen=True)
class Text:
    """A repeated text column: integer codes into the list of its distinct values."""

    codes: np.ndarray
    values: list[str]

    @classmethod
    def join(cls, parts: Sequence[pd.Series]) -> Text:
        if not parts:
            return cls(np.empty(0, np.int8), [])
        joined = union_categoricals([p.array for p in parts])
        return cls(np.asarray(joined.codes), [str(v) for v in joined.categories])

    def take(self, order: np.ndarray) -> Text:
        return Text(self.codes[order], self.values)

    def at(self, row: int) -> str:
        return self.values[self.codes[row]]

    def between(self, start: int, stop: int) -> list[str]:
        values = self.values
        return [values[code] for code in self.codes[start:stop].tolist()]


def encode_numbers(values: pd.Series, label: str) -> np.ndarray:
    """Tracking numbers as fixed-width ASCII bytes."""
    numbers = ascii_bytes(values, f"{label} column tracking_number")
    if len(numbers) and (numbers == b"").any():
        raise ValueError(f"{label}: a row has an empty tracking_number")
    return numbers


@dataclass(frozen=True)
class KeyIndex:
    """Where each (carrier, tracking number)'s rows are in the sorted arrays."""

    carriers: tuple[str, ...]
    ranges: dict[str, tuple[int, int]]  # carrier -> its keys [lo, hi)
    numbers: np.ndarray  # one fixed-width number per key, sorted within each carrier
    starts: np.ndarray  # rows of key k are starts[k]:starts[k + 1]

    @classmethod
    def build(
        cls, carriers: Text, numbers: np.ndarray, times: np.ndarray
    ) -> tuple[KeyIndex, np.ndarray]:
        """The index and the row order (carrier, number, time) to sort every column by."""
        order = np.lexsort((times, numbers, carriers.codes))
        codes = carriers.codes[order]
        numbers = numbers[order]
        size = len(order)
        first = np.ones(size, dtype=bool)
        if size:
            first[1:] = (codes[1:] != codes[:-1]) | (numbers[1:] != numbers[:-1])
        key_rows = np.flatnonzero(first)
        key_codes = codes[key_rows]
        ranges: dict[str, tuple[int, int]] = {}
        for code, name in enumerate(carriers.values):
            lo, hi = np.searchsorted(key_codes, [code, code + 1])
            if hi > lo:
                ranges[name.lower()] = (int(lo), int(hi))
        starts = np.append(key_rows, size).astype(np.int64)
        return cls(tuple(ranges), ranges, numbers[key_rows], starts), order

    def rows(self, carrier: str, number: str) -> tuple[int, int] | None:
        span = self.ranges.get(carrier)
        if span is None:
            return None
        try:
            wanted = number.encode("ascii")
        except UnicodeEncodeError:
            return None
        if not wanted or len(wanted) > self.numbers.dtype.itemsize:
            return None
        lo, hi = span
        key = lo + int(np.searchsorted(self.numbers[lo:hi], wanted))
        if key >= hi or self.numbers[key] != wanted:
            return None
        return int(self.starts[key]), int(self.starts[key + 1])

    def numbers_of(self, carrier: str) -> list[str]:
        lo, hi = self.ranges.get(carrier, (0, 0))
        return [n.decode("ascii") for n in self.numbers[lo:hi].tolist()]
