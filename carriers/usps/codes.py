"""USPS code tables: tracking event codes, event texts without a code, status categories.

Sources: ``CODES.md`` section "USPS" and ``codes/usps_event_codes.csv`` (the Web Tools
tracking code list, 49 codes) plus the codes observed in the samples that the list lacks
(A1, AD, EX, GX, OA, T1, TL). Every one of them is mapped below; a code that is not here
becomes ``Status.UNKNOWN`` on its event and an ``unknown_code`` problem on the result.

Mapping choices worth knowing:

* The return-to-sender group (09, 21-29, 31) is ``exception`` / ``returning_to_sender``
  whatever the sub-reason (no such number, vacant, unclaimed ...): what the customer must
  learn is that the parcel is on its way back.
* Attempted / notice left (02, 52) and the "could not leave it" codes (54 receptacle full,
  55 no secure location, 56 no authorised recipient) are ``attempt_fail`` /
  ``recipient_unavailable``: nobody could take the parcel. 30 (no access to the delivery
  location) and 53 (receptacle blocked) are ``attempt_fail`` / ``address_issue``: the
  delivery point as addressed could not be used. 51 is ``business_closed``.
* 71 "Rescheduled to next delivery day" is ``exception`` with reason ``unknown``: a delay
  whose cause USPS does not state. DX "Delivery status not updated" is ``exception`` /
  ``no_scan``.
* 14 "Arrival at pickup point" stays ``in_transit``; only 16 "Available for pickup" tells
  the customer to collect. 17 "Picked up by agent" and 43 "Picked up" are deliveries.
* 44 "Customer recall" (the shipper recalled the parcel) is ``exception`` / ``cancelled``;
  11 "Dead letter" (sent to the Mail Recovery Center) is ``exception`` / ``lost``.
"""

from __future__ import annotations

from carriers.taxonomy import Reason, Status

CodeMapping = tuple[Status, Reason | None]

_IN_TRANSIT: CodeMapping = (Status.IN_TRANSIT, None)
_RETURNING: CodeMapping = (Status.EXCEPTION, Reason.RETURNING_TO_SENDER)
_NOBODY_THERE: CodeMapping = (Status.ATTEMPT_FAIL, Reason.RECIPIENT_UNAVAILABLE)
_NO_ACCESS: CodeMapping = (Status.ATTEMPT_FAIL, Reason.ADDRESS_ISSUE)

# eventCode (v3 JSON) / EventCode (Web Tools XML) -> (status, reason)
EVENT_CODES: dict[str, CodeMapping] = {
    # -- return to sender group -----------------------------------------------------------
    "09": _RETURNING,  # Return to Sender
    "21": _RETURNING,  # No Such Number
    "22": _RETURNING,  # Insufficient Address
    "23": _RETURNING,  # Moved, Left No Address
    "24": _RETURNING,  # Forward Expired
    "25": _RETURNING,  # Addressee Unknown
    "26": _RETURNING,  # Vacant
    "27": _RETURNING,  # Unclaimed
    "28": _RETURNING,  # Deceased
    "29": _RETURNING,  # Other
    "31": _RETURNING,  # Not Picked Up
    # -- attempted / notice left group ----------------------------------------------------
    "02": _NOBODY_THERE,  # Attempted / Notice Left
    "52": _NOBODY_THERE,  # Notice Left
    "53": _NO_ACCESS,  # Receptacle Blocked
    "54": _NOBODY_THERE,  # Receptacle Full / Item Oversized
    "55": _NOBODY_THERE,  # No Secure Location Available
    "56": _NOBODY_THERE,  # No Authorized Recipient Available
    "30": _NO_ACCESS,  # Delivery Attempted - No Access to Delivery Location
    "51": (Status.ATTEMPT_FAIL, Reason.BUSINESS_CLOSED),  # Business Closed
    # -- other alerts ---------------------------------------------------------------------
    "04": (Status.EXCEPTION, Reason.REFUSED),  # Refused
    "05": (Status.EXCEPTION, Reason.ADDRESS_ISSUE),  # Undeliverable as Addressed
    "08": (Status.EXCEPTION, Reason.MISSORT),  # Missent
    "15": (Status.EXCEPTION, Reason.MISSORT),  # Mis-shipped
    "11": (Status.EXCEPTION, Reason.LOST),  # Dead Letter
    "44": (Status.EXCEPTION, Reason.CANCELLED),  # Customer Recall
    "71": (Status.EXCEPTION, Reason.UNKNOWN),  # Rescheduled to Next Delivery Day
    "DX": (Status.EXCEPTION, Reason.NO_SCAN),  # Delivery Status Not Updated
    # -- before USPS has the parcel -------------------------------------------------------
    "MA": (Status.INFO_RECEIVED, None),  # Manifest Acknowledgement / Pre-Shipment
    "GX": (Status.INFO_RECEIVED, None),  # Shipping Label Created (observed)
    # -- moving ---------------------------------------------------------------------------
    "03": _IN_TRANSIT,  # Accept or Pickup (by carrier)
    "TM": _IN_TRANSIT,  # Truck manifest ("Shipment Acceptance")
    "PA": _IN_TRANSIT,  # Passive Acceptance ("Shipment Acceptance")
    "OA": _IN_TRANSIT,  # Accepted at USPS Origin Facility (observed)
    "AD": _IN_TRANSIT,  # Accepted at USPS Regional Destination Facility (observed)
    "06": _IN_TRANSIT,  # Forwarded (to the addressee's forwarding address)
    "07": _IN_TRANSIT,  # Arrival at Unit
    "10": _IN_TRANSIT,  # Processed
    "14": _IN_TRANSIT,  # Arrival at Pickup Point
    "19": _IN_TRANSIT,  # DC eVS Arrive
    "41": _IN_TRANSIT,  # Received at Opening Unit
    "42": _IN_TRANSIT,  # USPS Handoff to Shipping Partner
    "80": _IN_TRANSIT,  # Picked Up by Shipping Partner
    "81": _IN_TRANSIT,  # Arrived Shipping Partner Facility
    "82": _IN_TRANSIT,  # Departed Shipping Partner Facility
    "EF": _IN_TRANSIT,  # Departed Sort Facility
    "SF": _IN_TRANSIT,  # Departed Post Office
    "PC": _IN_TRANSIT,  # Sorting / Processing Complete
    "A1": _IN_TRANSIT,  # Arrived at USPS (Regional) Facility (observed)
    "T1": _IN_TRANSIT,  # Departed USPS (Regional) Facility (observed)
    "TL": _IN_TRANSIT,  # In Transit to Next Facility (observed)
    "EX": _IN_TRANSIT,  # In Transit to Destination (observed)
    # -- last mile ------------------------------------------------------------------------
    "OF": (Status.OUT_FOR_DELIVERY, None),  # Out for Delivery
    "16": (Status.AVAILABLE_FOR_PICKUP, None),  # Available for Pickup
    "01": (Status.DELIVERED, None),  # Delivered
    "17": (Status.DELIVERED, None),  # Picked Up By Agent
    "43": (Status.DELIVERED, None),  # Picked Up
}

# Event codes that say the parcel left the place of the scan (departure scans). Not 10: its
# event texts say "Arrived at" as often as "Departed".
DEPARTURE_CODES = frozenset(
    {
        "EF",  # Departed Sort Facility
        "SF",  # Departed Post Office
        "T1",  # Departed USPS (Regional) Facility (observed)
        "82",  # Departed Shipping Partner Facility
    }
)

# The old Web Tools field set (usps_delivery_attempt_failed.xml) sends no EventCode, only
# an upper-case event text. This reviewed table names the code each such text stands for;
# only texts that say the same as the code's description are listed. A text not listed is
# an unknown code, exactly like an unlisted code.
LEGACY_EVENT_TEXTS: dict[str, str] = {
    "ACCEPTANCE": "03",
    "ARRIVAL AT UNIT": "07",
    "PROCESSED": "10",
    "SORTING COMPLETE": "PC",
    "OUT FOR DELIVERY": "OF",
    "ATTEMPTED": "02",
    "NOTICE LEFT": "52",
    "BUSINESS CLOSED": "51",
    "REFUSED": "04",
    "UNDELIVERABLE AS ADDRESSED": "05",
    "FORWARDED": "06",
    "MISSENT": "08",
    "RETURN TO SENDER": "09",
    "DEAD LETTER": "11",
    "ARRIVAL AT PICKUP POINT": "14",
    "AVAILABLE FOR PICKUP": "16",
    "PICKED UP BY AGENT": "17",
    "DELIVERED": "01",
}

# statusCategory (v3 JSON) / StatusCategory (Web Tools XML), lower-cased -> status.
# "Alert" is deliberately absent: it covers attempts, returns and delays alike, so the
# newest event's code decides instead.
STATUS_CATEGORIES: dict[str, Status] = {
    "pre-shipment": Status.INFO_RECEIVED,
    "accepted": Status.IN_TRANSIT,
    "in transit": Status.IN_TRANSIT,
    "moving through network": Status.IN_TRANSIT,
    "out for delivery": Status.OUT_FOR_DELIVERY,
    "available for pickup": Status.AVAILABLE_FOR_PICKUP,
    "delivery attempt": Status.ATTEMPT_FAIL,
    "delivered": Status.DELIVERED,
}

# Per-number error codes meaning "USPS has no record (yet)".
NOT_FOUND_ERRORS: frozenset[str] = frozenset(
    {
        "150001",  # v3: "A status update is not yet available on your package"
        "-2147219302",  # Web Tools: "could not locate the tracking information"
    }
)


def event_mapping(code: str) -> CodeMapping | None:
    """(status, reason) for an event code, or None when the code is not in the table."""
    return EVENT_CODES.get(code.strip().upper())


def departs(code: str) -> bool:
    """Whether an event code is a departure scan."""
    return code.strip().upper() in DEPARTURE_CODES


def code_for_text(text: str) -> str | None:
    """The code a legacy event text without EventCode stands for, if it is reviewed."""
    return LEGACY_EVENT_TEXTS.get(" ".join(text.split()).upper())


def category_status(category: str | None) -> Status | None:
    """The status a status category names, or None (absent, ambiguous or unknown)."""
    if not category:
        return None
    return STATUS_CATEGORIES.get(" ".join(category.split()).lower())
