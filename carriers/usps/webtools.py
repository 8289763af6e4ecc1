"""Reading the USPS Web Tools TrackV2 XML response (``TrackFieldRequest``).

``TrackResponse/TrackInfo[@ID]`` per number, with ``TrackSummary`` (the newest event) and
``TrackDetail`` (the earlier ones), each carrying ``EventDate`` ("January 17, 2017"),
``EventTime`` ("12:15 pm", sometimes empty), ``Event``, ``EventCity/State/ZIPCode/Country``
and, from Revision 1, ``EventCode``. ``TrackInfo/Error`` is a per-number error
(-2147219302: not found); a root ``Error`` is a whole-request error (authorisation, ...).
"""

from __future__ import annotations

from datetime import date, datetime, time
from xml.etree.ElementTree import Element

from carriers.models import EstimatedDelivery, Location, PayloadError, Problem, ProblemKind
from carriers.usps.build import Draft, clean_markup, facility_place, text_or_none
from carriers.usps.codes import NOT_FOUND_ERRORS

_DATE_FORMATS = ("%B %d, %Y", "%Y-%m-%d")
_TIME_FORMATS = ("%I:%M %p", "%I:%M%p", "%H:%M")


def is_webtools(root: Element) -> bool:
    """True for a TrackV2 response or a Web Tools error document."""
    if root.tag == "TrackResponse":
        return root.find("TrackInfo") is not None
    return root.tag == "Error" and "USPSCOM" in (_text(root, "Source") or "")


def drafts(root: Element) -> list[Draft]:
    if root.tag == "Error":
        return [_error_draft("", root)]
    if root.tag != "TrackResponse":
        raise PayloadError(
            f"USPS: XML root is <{root.tag}>; expected a Web Tools <TrackResponse> (TrackV2 "
            "TrackFieldRequest) or a Tracking API v3 JSON body"
        )
    return [_info_draft(info) for info in root.findall("TrackInfo")]


def _text(element: Element, name: str) -> str | None:
    child = element.find(name)
    return text_or_none(child.text) if child is not None else None


def _error_draft(number: str, error: Element) -> Draft:
    code = _text(error, "Number") or ""
    message = _text(error, "Description") or "no description"
    kind = ProblemKind.NOT_FOUND if code in NOT_FOUND_ERRORS else ProblemKind.REQUEST_ERROR
    return Draft(tracking_number=number, problems=[Problem(kind, code, message)])


def _info_draft(info: Element) -> Draft:
    number = text_or_none(info.get("ID")) or ""
    error = info.find("Error")
    if error is not None:
        return _error_draft(number, error)
    destination = Location(
        city=_text(info, "DestinationCity"),
        region=_text(info, "DestinationState"),
        postal_code=_text(info, "DestinationZip"),
        country=_text(info, "DestinationCountryCode"),
    )
    draft = Draft(
        tracking_number=number,
        category=_text(info, "StatusCategory"),
        service=clean_markup(_text(info, "Class")),
    )
    for element in [*info.findall("TrackSummary"), *info.findall("TrackDetail")]:
        _add_event(draft, element, destination)
    draft.estimated_delivery = _estimated_delivery(draft, info)
    return draft


def _add_event(draft: Draft, element: Element, destination: Location) -> None:
    if len(element) == 0:
        raise PayloadError(
            f"USPS: <{element.tag}> holds only text; the summary-text TrackRequest format is "
            "not supported, request TrackFieldRequest (Revision 1) instead"
        )
    code = _text(element, "EventCode") or ""
    text = _text(element, "Event") or ""
    place = Location(
        city=_text(element, "EventCity"),
        region=_text(element, "EventState"),
        postal_code=_text(element, "EventZIPCode"),
        country=_text(element, "EventCountry"),
    )
    day = _parse_day(_text(element, "EventDate"))
    clock = _parse_clock(_text(element, "EventTime"))
    if day is None or clock is None:
        raw = f"{_text(element, 'EventDate')} {_text(element, 'EventTime')}"
        draft.unreadable(code, f"event {text!r} date/time", raw)
        return
    local = datetime.combine(day, clock)
    when = draft.place_in_zone(local, code, text, (place, facility_place(place.city), destination))
    draft.add_event(when, code, text, place)


def _parse_day(raw: str | None) -> date | None:
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(raw or "", pattern).date()  # noqa: DTZ007 - a calendar day
        except ValueError:
            continue
    return None


def _parse_clock(raw: str | None) -> time | None:
    """The wall-clock time; an empty EventTime is the start of the day (see parse.py)."""
    if raw is None:
        return time(0, 0)
    for pattern in _TIME_FORMATS:
        try:
            return datetime.strptime(raw.upper(), pattern).time()  # noqa: DTZ007 - wall time
        except ValueError:
            continue
    return None


def _estimated_delivery(draft: Draft, info: Element) -> EstimatedDelivery | None:
    for name in ("PredictedDeliveryDate", "ExpectedDeliveryDate"):
        raw = _text(info, name)
        if raw is None:
            continue
        day = _parse_day(raw)
        if day is not None:
            return EstimatedDelivery(day, day)
        draft.unreadable("", name, raw)
    return None
