"""DHL eCommerce (Global Mail) legacy tracking XML (``<track><shipment>``) into results.

One result per ``<shipment>``, numbered by ``<trackingnumber>`` (the USPS
``<deliveryconfirm>`` number of the final leg is not a result of its own; DHL moves the
parcel and hands it to USPS, so the carrier stays ``dhl``). Events carry numeric codes,
read with the legacy wording first and then DHL's current ``ecommerce`` list (same
numbering). The feed lists events newest first; status is the newest event's (there is no
current-status field); a shipment without events is ``pending``.

Times: ``<date>`` "1/17/2017" and ``<time>`` "12:26 PM ET". The zone word is DHL's own
statement of the zone and is used as such: a daylight-neutral US zone ("ET", "CT", "MT",
"PT", "AKT", "HT") is that region's IANA zone, an explicit standard/daylight abbreviation
("EST", "CDT", ...) is its fixed offset. A time without a recognised zone word is
localized at the event's city/state/country, else at the shipment's address; if no zone is
found the event is left out with a ``time_without_zone`` problem. The format carries no
delivery estimate.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from carriers.dhl.codes import ecommerce_legacy_code, ecommerce_legacy_departs
from carriers.dhl.common import (
    Draft,
    Scan,
    build_result,
    children,
    code_mapping,
    local_name,
    text_at,
)
from carriers.dhl.places import country_code
from carriers.models import Location, Problem, ProblemKind, TrackingResult

REGION_ZONES: dict[str, str] = {
    "ET": "America/New_York",
    "CT": "America/Chicago",
    "MT": "America/Denver",
    "PT": "America/Los_Angeles",
    "AKT": "America/Anchorage",
    "HT": "Pacific/Honolulu",
}
FIXED_OFFSETS_HOURS: dict[str, int] = {
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "AKST": -9, "AKDT": -8, "HST": -10, "AST": -4, "UTC": 0, "GMT": 0,
}  # fmt: skip
_TIME = re.compile(r"^(\d{1,2}:\d{2})\s*([AaPp][Mm])\s*([A-Za-z]{1,4})?$")


def is_ecommerce_legacy(root: ET.Element) -> bool:
    return local_name(root.tag) == "track" and bool(children(root, "shipment"))


def _zone(word: str) -> tzinfo | None:
    word = word.upper()
    if word in REGION_ZONES:
        return ZoneInfo(REGION_ZONES[word])
    if word in FIXED_OFFSETS_HOURS:
        return timezone(timedelta(hours=FIXED_OFFSETS_HOURS[word]), word)
    return None


def event_time(day: str, clock: str) -> datetime | None:
    """The event time: aware when DHL names a known zone, naive local time otherwise."""
    match = _TIME.match(clock.strip())
    if match is None:
        return None
    hhmm, meridiem, word = match.groups()
    try:
        # Wall-clock time; the zone is attached just below or in common.build_result.
        stamp = f"{day.strip()} {hhmm} {meridiem.upper()}"
        naive = datetime.strptime(stamp, "%m/%d/%Y %I:%M %p")  # noqa: DTZ007
    except ValueError:
        return None
    zone = _zone(word or "")
    return naive.replace(tzinfo=zone, fold=0) if zone is not None else naive


def _location(element: ET.Element, city: str, region: str, postal: str) -> Location:
    return Location(
        city=text_at(element, city) or None,
        region=text_at(element, region) or None,
        postal_code=text_at(element, postal) or None,
        country=country_code(text_at(element, "country")),
    )


def _scan(event: ET.Element, draft: Draft) -> Scan | None:
    code = text_at(event, "code")
    when = event_time(text_at(event, "date"), text_at(event, "time"))
    if when is None:
        message = f"DHL eCommerce event {code} has an unreadable date/time; it is left out"
        draft.problems.append(Problem(ProblemKind.PARSE_ERROR, code, message))
        return None
    mapping = code_mapping(ecommerce_legacy_code(code), "eCommerce event", code, draft)
    location = _location(event, "city", "state", "postalcode")
    description = text_at(event, "description")
    return Scan(when, mapping, code, description, location, ecommerce_legacy_departs(code))


def _shipment(shipment: ET.Element) -> TrackingResult:
    draft = Draft(number=text_at(shipment, "trackingnumber"), service="ecommerce")
    draft.fallbacks = (_location(shipment, "city", "state", "zip"),)
    events = list(reversed(children(shipment, "event")))  # the feed is newest first
    draft.scans = [scan for scan in (_scan(event, draft) for event in events) if scan]
    return build_result(draft)


def ecommerce_results(root: ET.Element) -> list[TrackingResult]:
    return [_shipment(shipment) for shipment in children(root, "shipment")]
