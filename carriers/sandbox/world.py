"""A simulated world's tracking, answered per number and as of any moment.

The simulator writes ``<world>/tracking/scans.csv`` (carrier, tracking_number, service,
occurred_at, status, reason, description, city, region, postal_code, country, and
optionally departed: ``true`` on a departure scan, empty otherwise) and
``etas.csv`` (carrier, tracking_number, stated_at, earliest, latest). Status and reason
hold our taxonomy values; times are ISO 8601 with an offset, which is kept. An ETA bound is
a date (YYYY-MM-DD) or an aware ISO datetime; a statement with both bounds empty means the
carrier withdrew its ETA (one empty bound takes the other's value).

:meth:`SandboxWorld.tracking` builds a :class:`TrackingResult` for one number as the
carrier would report it at ``as_of``: the scans up to then, newest first; status and reason
of the newest scan; delivered_at from the newest delivery scan; the ETA of the newest
statement made up to then. A number with no scan by then is unknown to the carrier (None),
as real carriers answer "not found" until the first scan. Events carry an empty ``code``:
the world speaks our taxonomy, and each carrier's codec writes its own code for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from carriers.models import EstimatedDelivery, Location, TrackingEvent, TrackingResult
from carriers.sandbox.table import (
    Bounds,
    Instants,
    KeyIndex,
    Text,
    encode_numbers,
    read_chunks,
    to_datetime,
    to_ns,
)
from carriers.taxonomy import Reason, Status

SCAN_COLUMNS = (
    "carrier",
    "tracking_number",
    "service",
    "occurred_at",
    "status",
    "reason",
    "description",
    "city",
    "region",
    "postal_code",
    "country",
)
OPTIONAL_SCAN_COLUMNS = ("departed",)  # a world written before it has no departure scans
SCAN_TEXT = (
    *(c for c in SCAN_COLUMNS if c not in ("tracking_number", "occurred_at")),
    *OPTIONAL_SCAN_COLUMNS,
)
ETA_COLUMNS = ("carrier", "tracking_number", "stated_at", "earliest", "latest")
_LOCATION = ("city", "region", "postal_code", "country")
_STATUS: dict[str, Status] = {s.value: s for s in Status}
_REASON: dict[str, Reason | None] = {"": None, **{r.value: r for r in Reason}}


def _join_numbers(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0, "S1")


def _vocabulary(text: Text, path: Path, column: str, allow_empty: bool) -> None:
    """Reject values outside our taxonomy, naming the first bad one."""
    known = set(_STATUS if column == "status" else _REASON)
    if not allow_empty:
        known.discard("")
    bad = [v for v in text.values if v not in known]
    if bad:
        raise ValueError(
            f"{path}: column {column} holds {bad[0]!r}, which is not one of our "
            f"{column} values ({', '.join(sorted(v for v in known if v))})"
        )


@dataclass(frozen=True)
class _Scans:
    index: KeyIndex
    times: Instants
    text: dict[str, Text]

    @classmethod
    def load(cls, path: Path) -> _Scans:
        numbers: list[np.ndarray] = []
        times: list[Instants] = []
        texts: dict[str, list] = {c: [] for c in SCAN_TEXT}
        for chunk in read_chunks(path, SCAN_COLUMNS, SCAN_TEXT, OPTIONAL_SCAN_COLUMNS):
            numbers.append(encode_numbers(chunk["tracking_number"], str(path)))
            times.append(Instants.parse(chunk["occurred_at"], f"{path} column occurred_at"))
            for column in SCAN_TEXT:
                texts[column].append(chunk[column])
        columns = {c: Text.join(parts) for c, parts in texts.items()}
        _vocabulary(columns["status"], path, "status", allow_empty=False)
        _vocabulary(columns["reason"], path, "reason", allow_empty=True)
        odd = [v for v in columns["departed"].values if v not in ("", "true")]
        if odd:
            raise ValueError(
                f"{path}: column departed holds {odd[0]!r}; write true on a departure scan, "
                "else leave it empty"
            )
        joined = Instants.join(times)
        index, order = KeyIndex.build(columns.pop("carrier"), _join_numbers(numbers), joined.utc_ns)
        return cls(index, joined.take(order), {c: t.take(order) for c, t in columns.items()})

    def visible(self, carrier: str, number: str, cut: int | None) -> tuple[int, int] | None:
        """Rows of this shipment's scans up to ``cut`` (UTC ns), oldest first."""
        rows = self.index.rows(carrier, number)
        if rows is None:
            return None
        start, stop = rows
        if cut is not None:
            seen = np.searchsorted(self.times.utc_ns[start:stop], cut, side="right")
            stop = start + int(seen)
        return (start, stop) if stop > start else None

    def events(self, start: int, stop: int) -> tuple[TrackingEvent, ...]:
        """Rows start:stop as events, newest first."""
        instants = self.times.utc_ns[start:stop].tolist()
        offsets = self.times.offsets[start:stop].tolist()
        text = {name: column.between(start, stop) for name, column in self.text.items()}
        events = []
        for i in reversed(range(stop - start)):
            place = (text[c][i] or None for c in _LOCATION)
            events.append(
                TrackingEvent(
                    occurred_at=to_datetime(instants[i], offsets[i]),
                    status=_STATUS[text["status"][i]],
                    reason=_REASON[text["reason"][i]],
                    code="",
                    description=text["description"][i],
                    location=Location(*place),
                    departed=text["departed"][i] == "true",
                )
            )
        return tuple(events)


@dataclass(frozen=True)
class _Etas:
    index: KeyIndex
    stated: np.ndarray
    earliest: Bounds
    latest: Bounds

    @classmethod
    def load(cls, path: Path) -> _Etas:
        carriers: list = []
        numbers: list[np.ndarray] = []
        stated: list[Instants] = []
        earliest: list[Bounds] = []
        latest: list[Bounds] = []
        if path.exists():
            for chunk in read_chunks(path, ETA_COLUMNS, ("carrier",)):
                carriers.append(chunk["carrier"])
                numbers.append(encode_numbers(chunk["tracking_number"], str(path)))
                stated.append(Instants.parse(chunk["stated_at"], f"{path} column stated_at"))
                earliest.append(Bounds.parse(chunk["earliest"], f"{path} column earliest"))
                latest.append(Bounds.parse(chunk["latest"], f"{path} column latest"))
        joined = Instants.join(stated)
        index, order = KeyIndex.build(Text.join(carriers), _join_numbers(numbers), joined.utc_ns)
        return cls(
            index,
            joined.utc_ns[order],
            Bounds.join(earliest).take(order),
            Bounds.join(latest).take(order),
        )

    def estimate(self, carrier: str, number: str, cut: int | None) -> EstimatedDelivery | None:
        """The newest statement made up to ``cut``; None if none or withdrawn."""
        rows = self.index.rows(carrier, number)
        if rows is None:
            return None
        start, stop = rows
        if cut is not None:
            stop = start + int(np.searchsorted(self.stated[start:stop], cut, side="right"))
        if stop == start:
            return None
        earliest, latest = self.earliest.at(stop - 1), self.latest.at(stop - 1)
        earliest = earliest if earliest is not None else latest
        latest = latest if latest is not None else earliest
        if earliest is None or latest is None:
            return None  # withdrawn
        return EstimatedDelivery(earliest=earliest, latest=latest)


class SandboxWorld:
    """The tracking of a simulated world, loaded once, answered lazily per number."""

    def __init__(self, scans: _Scans, etas: _Etas) -> None:
        self._scans = scans
        self._etas = etas

    @classmethod
    def load(cls, directory: str | Path) -> SandboxWorld:
        """Load ``<directory>/tracking/`` (or ``directory`` itself if it holds scans.csv)."""
        root = Path(directory)
        folder = root if (root / "scans.csv").exists() else root / "tracking"
        scans = folder / "scans.csv"
        if not scans.exists():
            raise FileNotFoundError(
                f"no scans.csv in {root} or {root / 'tracking'}; generate a world first "
                "(oasis simulate) or point at its directory"
            )
        return cls(_Scans.load(scans), _Etas.load(folder / "etas.csv"))

    @property
    def carriers(self) -> tuple[str, ...]:
        """Carriers that move parcels in this world (lower case)."""
        return self._scans.index.carriers

    @property
    def scan_count(self) -> int:
        return len(self._scans.times.utc_ns)

    def tracking_numbers(self, carrier: str) -> list[str]:
        """Every tracking number this carrier has in the world, sorted."""
        return self._scans.index.numbers_of(carrier.lower())

    def tracking(
        self, carrier: str | None, number: str, as_of: datetime | None = None
    ) -> TrackingResult | None:
        """What ``carrier`` reports for ``number`` at ``as_of`` (None = everything known).

        ``carrier=None`` looks the number up across all carriers (as aggregators do).
        None when the carrier has no scan of this number by then.
        """
        cut = None if as_of is None else to_ns(as_of)
        names = self.carriers if carrier is None else (carrier.lower(),)
        for name in names:
            rows = self._scans.visible(name, number, cut)
            if rows is not None:
                return self._result(name, number, rows, cut)
        return None

    def _result(
        self, carrier: str, number: str, rows: tuple[int, int], cut: int | None
    ) -> TrackingResult:
        start, stop = rows
        events = self._scans.events(start, stop)
        delivered = next((e.occurred_at for e in events if e.status is Status.DELIVERED), None)
        return TrackingResult(
            carrier=carrier,
            tracking_number=number,
            status=events[0].status,
            reason=events[0].reason,
            estimated_delivery=self._etas.estimate(carrier, number, cut),
            delivered_at=delivered,
            events=events,
            service=self._scans.text["service"].at(stop - 1) or None,
        )
