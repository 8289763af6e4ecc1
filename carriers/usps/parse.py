"""USPS tracking parser: Tracking API v3 JSON and Web Tools TrackV2 XML to TrackingResult.

Formats
    * v3 JSON (``GET /tracking/v3/tracking/{n}?expand=DETAIL``): one tracking body per
      response, or the error envelope ``error {code, message, errors[]}`` sent with HTTP
      400. The envelope does not repeat the tracking number, so its result has tracking
      number "" (the caller knows which number it asked for); 150001 "A status update is
      not yet available" is ``not_found``, any other error ``request_error``.
    * Web Tools XML: ``TrackResponse/TrackInfo`` (TrackFieldRequest, Revision 1 or the old
      field set); ``TrackInfo/Error`` -2147219302 is ``not_found``; a root ``Error`` is a
      whole-request ``request_error`` with tracking number "".

Event times (USPS sends the wall-clock time at the scan location)
    1. v3 event with ``GMTOffset``: occurred_at = ``eventTimestamp`` (local wall time) with
       that offset, so the carrier's local offset is kept. ``GMTTimestamp`` is not used for
       the instant: USPS stamps it with the *local* calendar date, so whenever the UTC time
       falls on the next day it is 24 h early. The samples show it three times
       (usps_in_transit.json: SF 2024-11-25T18:31-06:00 and 03 18:26-06:00 carry GMT
       2024-11-25T00:31Z / 00:26Z instead of 2024-11-26; usps_delivered_shipping_partner.json:
       81 2024-11-21T23:28-06:00 carries 2024-11-21T05:28Z). In every sample the time of day
       of local + offset matches GMTTimestamp, and the local dates keep the event order
       consistent, so local + offset is the reliable pair.
    2. No offset (v3 events without GMT fields, every Web Tools event): the local time is
       placed with ``carriers.timezones.localize`` in the zone of the event's state
       (``eventState``/``EventState``), else of the state named in a USPS facility name
       ("OAK CREEK WI DISTRIBUTION CENTER"), else of the destination state. ZIP codes are
       carried in the location but ``carriers.timezones`` does not resolve them. If none
       gives a zone the event is left out with a ``time_without_zone`` problem.
    3. An event with a date and no time (Web Tools ``<EventTime/>``) is placed at 00:00 local
       time, which is how the v3 API itself sends such events ("2024-11-23T00:00:00").

Codes
    ``code`` is the single ``eventCode``/``EventCode`` as sent. Events of the old Web Tools
    field set have no code: ``code`` is "" and the status comes from the reviewed event-text
    table in ``codes.py`` (usps_delivery_attempt_failed.xml: DELIVERED, NOTICE LEFT, ARRIVAL
    AT UNIT, ACCEPTANCE). Unknown codes or texts give status ``unknown`` and a problem.

Status, reason, delivery
    Status is the ``statusCategory``/``StatusCategory`` when it names one status ("Alert"
    does not), else the newest event's. Reason is the newest event's reason when that event
    has the result's status. delivered_at is the newest delivered event's time.

Estimated delivery (exactly as stated)
    v3: a predicted window (``predictedDeliveryDate`` plus window start/end times, made aware
    at the destination) first, else the predicted day; else ``expectedDeliveryTimeStamp``
    (midnight means that day; another time is a point, aware at the destination, or the
    day when the destination has no zone); else ``expectedDeliveryDate``; else none. Web
    Tools: ``PredictedDeliveryDate``, else ``ExpectedDeliveryDate``, as a day.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from xml.etree.ElementTree import Element

from carriers.models import PayloadError, TrackingResult
from carriers.usps import v3, webtools
from carriers.usps.build import finish, merge

_EXPECTED = (
    "expected a USPS Tracking API v3 JSON body (GET /tracking/v3/tracking/{number}"
    "?expand=DETAIL) or a Web Tools TrackV2 <TrackResponse>"
)


def sniff(payload: bytes) -> bool:
    """True only for USPS v3 JSON bodies/error envelopes and Web Tools TrackV2 XML."""
    try:
        document = _load(payload)
    except PayloadError:
        return False
    if isinstance(document, Element):
        return webtools.is_webtools(document)
    return v3.is_v3(document)


def parse(payload: bytes) -> list[TrackingResult]:
    """One result per tracking number in the payload; PayloadError if it cannot be read."""
    document = _load(payload)
    drafts = webtools.drafts(document) if isinstance(document, Element) else v3.drafts(document)
    return [finish(draft) for draft in merge(drafts)]


def _load(payload: bytes) -> object:
    """The decoded JSON value or the XML root element; PayloadError for anything else."""
    head = payload.lstrip(b"\xef\xbb\xbf \t\r\n")[:200].lower()
    if not head:
        raise PayloadError(f"USPS: empty payload; {_EXPECTED}")
    if head.startswith((b"<!doctype html", b"<html")):
        raise PayloadError(
            "USPS: got an HTML page, not tracking data (often a proxy, login or error page); "
            f"check the base URL and credentials; {_EXPECTED}"
        )
    if head.startswith((b"{", b"[")):
        try:
            return json.loads(payload)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PayloadError(f"USPS: malformed or truncated JSON ({exc}); {_EXPECTED}") from exc
    if head.startswith(b"<"):
        return _xml_root(payload)
    raise PayloadError(f"USPS: payload is neither JSON nor XML; {_EXPECTED}")


def _xml_root(payload: bytes) -> Element:
    if b"<!doctype" in payload.lower() or b"<!entity" in payload.lower():
        raise PayloadError("USPS: XML with a DTD or entity declarations is not accepted")
    try:
        # Safe here: DTDs and entity declarations were rejected above, and expat does not
        # fetch external resources.
        return ET.fromstring(payload)  # noqa: S314
    except ET.ParseError as exc:
        raise PayloadError(f"USPS: malformed or truncated XML ({exc}); {_EXPECTED}") from exc
