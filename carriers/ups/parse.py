"""Parse UPS tracking payloads (pure): Track API v1 JSON, Track SOAP v2.0, legacy XML.

Formats: see :mod:`carriers.ups.trackapi` (JSON) and :mod:`carriers.ups.xmlapi` (both XML
formats, including UPS Mail Innovations). Codes: :mod:`carriers.ups.codes`.

Event code: ``type/code`` as UPS sent them (activity type and status code, e.g. ``I/AR``,
``X/DJ``, ``D/FS``; an empty part stays empty, e.g. ``/X`` for a SOAP activity without a
type), followed by ``/statusCode`` when the Track API sends one (``X/RZ/012``, ``X//092``).

Times. UPS gives each activity's date (YYYYMMDD) and time (HHMMSS, HHMM for Mail
Innovations) as wall-clock time at the scan location, without an offset, and we never
label that as UTC:

1. When the Track API adds ``gmtOffset`` (``+08:00``) the instant is ``gmtDate`` +
   ``gmtTime`` read as UTC, shown in that offset (equal to the local date/time with the
   offset attached); without ``gmtDate``/``gmtTime`` the local date/time gets the offset.
2. Otherwise the local time is resolved with :func:`carriers.timezones.localize` from the
   activity's location; if that has no known zone, from the shipment's destination, then its
   origin (origin first for label/billing activities, which happen at the shipper).
3. If no zone is found the event is left out and a ``time_without_zone`` problem names it;
   an activity without a readable date/time is left out with a ``parse_error`` problem.

Estimated delivery: the rescheduled day (RDD / RescheduledDeliveryDate) before the scheduled
one (SDD / ScheduledDeliveryDate), as a day; a Track API ``deliveryTime`` window
(EOD/CMT/EDW/CDW/IDW) on that day becomes a window of aware times at the destination (start
of day when only an end time is given). ``DeliveryDateUnavailable`` means no estimate.
``delivered_at`` is the newest delivered event's time (else the stated DEL date/time at the
destination), only while the current status is delivered.

Current status: the Track API's ``currentStatus`` when it maps, with the cause taken from the
newest event of that status when the status code names none; otherwise the newest event.

Errors: a whole-request error (JSON ``response.errors``, SOAP fault, legacy ``Response/Error``)
names no number, so it becomes one result with tracking number ""; a number UPS cannot track
inside a good response (``warnings`` TW0001) becomes that number's result. Codes TV1002,
151018, 150022 are invalid numbers, TW0001 and 155002 not found, anything else a request
error. Unreadable payloads (not JSON/XML, truncated, HTML pages, other formats) raise
:class:`~carriers.models.PayloadError`.
"""

from __future__ import annotations

import json
import re
from xml.etree.ElementTree import Element, ParseError, fromstring

from carriers.models import PayloadError, TrackingResult
from carriers.ups.trackapi import is_track_json, parse_track_json
from carriers.ups.xmlapi import is_ups_xml, parse_xml

_BOM = b"\xef\xbb\xbf"
_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_HTML = re.compile(rb"<!DOCTYPE\s+html|<html[\s>]", re.IGNORECASE)
_EXPECTED = (
    "expected a UPS Track API v1 JSON response, a UPS Track SOAP response or a legacy "
    "UPS Tracking XML TrackResponse"
)


def sniff(payload: bytes) -> bool:
    """True only for UPS's tracking formats (never raises)."""
    try:
        doc = _load(payload)
    except PayloadError:
        return False
    if isinstance(doc, Element):
        return is_ups_xml(doc)
    return is_track_json(doc)


def parse(payload: bytes) -> list[TrackingResult]:
    """One TrackingResult per tracking number in a UPS payload."""
    doc = _load(payload)
    if isinstance(doc, Element):
        return parse_xml(doc)
    return parse_track_json(doc)


def _load(payload: bytes) -> object:
    """The parsed JSON value or XML root element."""
    body = payload.removeprefix(_BOM).lstrip()
    if not body:
        raise PayloadError(f"the payload is empty; {_EXPECTED}")
    if body[:1] in (b"{", b"["):
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PayloadError(
                f"payload is not valid JSON ({exc}); {_EXPECTED}; check that the file is "
                "complete (not truncated)"
            ) from None
    if body[:1] == b"<":
        return _load_xml(body)
    raise PayloadError(f"payload is neither JSON nor XML; {_EXPECTED}")


def _load_xml(body: bytes) -> Element:
    head = body[:2048]
    if _HTML.search(head):
        raise PayloadError(
            f"payload is an HTML page, not a UPS tracking response ({_EXPECTED}); the "
            "request probably reached an error page or a proxy: check the URL and credentials"
        )
    if _DOCTYPE.search(body):
        raise PayloadError(
            f"XML with a DOCTYPE or entity declaration is refused (UPS sends none); {_EXPECTED}"
        )
    try:
        # No DTD can reach the parser (refused above), so no entity expansion happens.
        return fromstring(body)  # noqa: S314
    except ParseError as exc:
        raise PayloadError(
            f"payload is not well-formed XML ({exc}); {_EXPECTED}; check that the file is "
            "complete (not truncated)"
        ) from None
