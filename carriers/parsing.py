"""Small pure helpers that several carrier parsers share word for word.

Only logic that is the same in every parser using it lives here: reading a JSON body,
cleaning a text field, ordering and deduplicating events, choosing time-zone candidates and
merging results for one number. Each parser keeps its own time rules and code tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from carriers.models import (
    Location,
    PayloadError,
    Problem,
    ProblemKind,
    TrackingEvent,
    TrackingResult,
)

_BOM_AND_SPACE = b"\xef\xbb\xbf \t\r\n"


# -- JSON bodies ----------------------------------------------------------------------------


def try_json(payload: bytes) -> Any:
    """The decoded JSON of ``payload``, None when it is not JSON."""
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None


def load_json_object(payload: bytes, expected: str, fix: str) -> dict[str, Any]:
    """The JSON object in ``payload``; PayloadError naming ``expected`` and ``fix`` if not."""
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        start = payload[:60].decode("utf-8", "replace").strip()
        raise PayloadError(
            f"{expected}; the payload is not JSON ({exc}; it starts with {start!r}); {fix}"
        ) from None
    if not isinstance(doc, dict):
        raise PayloadError(f"{expected}; got a JSON {type(doc).__name__}; {fix}")
    return doc


def sniff_json(payload: bytes, openers: tuple[bytes, ...]) -> Any:
    """The JSON of ``payload`` (BOM and blanks skipped) if it opens with one of ``openers``."""
    head = payload.lstrip(_BOM_AND_SPACE)
    if not head.startswith(openers):
        return None
    try:
        return json.loads(head)
    except ValueError:
        return None


def read_json(payload: bytes, title: str, expected: str) -> Any:
    """The JSON of a file-drop body; PayloadError for an empty, HTML/XML or broken body."""
    head = payload.lstrip(_BOM_AND_SPACE)
    if not head:
        raise PayloadError(f"{title} payload is empty: expected {expected}")
    if head[:1] == b"<":
        raise PayloadError(
            f"{title} payload is HTML or XML, not JSON: expected {expected}; an HTML page "
            "usually means a proxy or login page answered instead of the API"
        )
    try:
        return json.loads(head)
    except ValueError as exc:
        raise PayloadError(
            f"{title} JSON could not be read ({exc}): the body looks truncated or corrupted; "
            f"expected {expected}, fetch it again"
        ) from None


# -- fields ---------------------------------------------------------------------------------


def clean_text(value: object) -> str | None:
    """``value`` as stripped text, None when absent or blank."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def unknown_code_problems(unknown: Mapping[str, int], title: str, codes: str) -> list[Problem]:
    """One UNKNOWN_CODE problem per code counted in ``unknown`` (``codes``: the table file)."""
    return [
        Problem(
            ProblemKind.UNKNOWN_CODE,
            code,
            f"{title} code {code!r} is not in {codes} (seen {count} time(s)): its events are "
            "set to unknown, never guessed",
        )
        for code, count in unknown.items()
    ]


# -- events and results ---------------------------------------------------------------------


def newest_first(events: Iterable[TrackingEvent]) -> list[TrackingEvent]:
    """Events without duplicates, newest first.

    ``events`` come oldest first, as the aggregator lists them, so of two events with the
    same time the one listed later is taken as the newer.
    """
    unique: dict[tuple[object, ...], TrackingEvent] = {}
    for event in events:
        key = (event.occurred_at, event.code, event.description, event.location)
        unique.setdefault(key, event)
    return sorted(reversed(list(unique.values())), key=lambda e: e.occurred_at, reverse=True)


def zone_candidates(location: Location, fallbacks: Iterable[Location | None]) -> list[Location]:
    """The event's own location, then shipment locations that do not contradict its country."""
    candidates = [location]
    for fallback in fallbacks:
        if fallback is None:
            continue
        if location.country and fallback.country and location.country != fallback.country:
            continue
        candidates.append(fallback)
    return candidates


def merge_results(results: list[TrackingResult]) -> list[TrackingResult]:
    """One result per tracking number; the result with the newest event gives the summary."""
    merged: dict[str, TrackingResult] = {}
    for result in results:
        other = merged.get(result.tracking_number)
        if other is None:
            merged[result.tracking_number] = result
            continue
        main, rest = (result, other) if _newest(result) >= _newest(other) else (other, result)
        merged[result.tracking_number] = TrackingResult(
            carrier=main.carrier,
            tracking_number=main.tracking_number,
            status=main.status,
            reason=main.reason,
            estimated_delivery=main.estimated_delivery or rest.estimated_delivery,
            delivered_at=main.delivered_at,
            events=tuple(newest_first([*reversed(rest.events), *reversed(main.events)])),
            problems=tuple(dict.fromkeys([*rest.problems, *main.problems])),
            service=main.service or rest.service,
        )
    return list(merged.values())


def _newest(result: TrackingResult) -> datetime:
    return result.events[0].occurred_at if result.events else datetime.min.replace(tzinfo=UTC)
