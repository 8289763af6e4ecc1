"""DHL Freight, DHL Global Forwarding (dgf) and Deutsche Post letter (svb) code tables.

Every row of the ``freight``, ``dgf`` and ``svb`` services in DHL's per-service status list
(``codes/dhl_unified_status_codes.csv``) mapped onto our (Status, Reason); the comment after
an entry is DHL's description (for svb and dgf that is DHL's own category, which the
mapping follows except where the code says more: a ``NOTIFIED`` letter waits at a branch or
Packstation for collection, ``MARBURG`` is Deutsche Post's office for undeliverable mail).
``svb`` ``AMBIGUOUS`` and ``NO_INFO`` are DHL's own "unknown" and stay ``unknown``. The
``*_DEPARTURES`` sets name the codes that say the parcel left the place of the event
(departure scans); ``freight`` has none.
"""

from __future__ import annotations

from carriers.taxonomy import Reason as R
from carriers.taxonomy import Status as S

FREIGHT: dict[str, tuple[S, R | None]] = {
    "ACT-2": (S.INFO_RECEIVED, None),  # Consignment created
    "64-0": (S.INFO_RECEIVED, None),  # Collection arranged - OK
    "48-0": (S.INFO_RECEIVED, None),  # Loaded by customer ready for Collection
    "15-501": (S.INFO_RECEIVED, None),  # Out for Collection
    "31-139": (S.INFO_RECEIVED, None),  # Entered collection geofence area
    "55-211": (S.EXCEPTION, R.MISSED_PICKUP),  # Not Collected - consignor closed
    "55-68": (S.EXCEPTION, R.MISSED_PICKUP),  # Not Collected - customer not ready
    "55-21": (S.EXCEPTION, R.MISSED_PICKUP),  # Not Collected - customer refusal
    "55-126": (S.EXCEPTION, R.CUSTOMS),  # Not Collected - customs issue
    "55-240": (S.EXCEPTION, R.MISSED_PICKUP),  # Not Collected - DHL refusal, goods not transportab…
    "55-241": (S.EXCEPTION, R.MISSED_PICKUP),  # Not Collected - missing or wrong reference
    "55-265": (S.EXCEPTION, R.MISSED_PICKUP),  # Not Collected - other reasons
    "55-294": (S.EXCEPTION, R.MISSED_PICKUP),  # Not Collected - time issue
    "55-20": (S.EXCEPTION, R.TRANSPORT_DELAY),  # Not Collected - traffic jam
    "55-266": (S.EXCEPTION, R.WEATHER),  # Not Collected - weather condition issue
    "55-234": (S.EXCEPTION, R.ADDRESS_ISSUE),  # Not Collected - wrong address
    "13-0": (S.IN_TRANSIT, None),  # Collected
    "31-140": (S.IN_TRANSIT, None),  # Exited collection geofence area
    "24-0": (S.IN_TRANSIT, None),  # Shipped from terminal
    "1-0": (S.IN_TRANSIT, None),  # Received at terminal
    "20-126": (S.EXCEPTION, R.CUSTOMS),  # On hold - in customs clearance.
    "12-0": (S.IN_TRANSIT, None),  # Customs cleared
    "20-266": (S.EXCEPTION, R.WEATHER),  # Delayed during transport - bad weather.
    "20-354": (S.EXCEPTION, R.HOLIDAY),  # Delayed during transport - bank holiday.
    "20-270": (S.EXCEPTION, R.TRANSPORT_DELAY),  # Exception occurred - Strike.
    "7-0": (S.EXCEPTION, R.CANCELLED),  # New shipping instruction - consignment cancelled by sender
    "56-222": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # New shipping instruction - shipment returned.
    "1-21": (S.IN_TRANSIT, None),  # Arrival at destination
    "20-208": (S.IN_TRANSIT, None),  # Shipment in warehouse – Awaiting delivery appointment
    "20-209": (S.IN_TRANSIT, None),  # Shipment in warehouse – Delivery appointment booked
    "20-13": (S.AVAILABLE_FOR_PICKUP, None),  # Shipment in warehouse - ready for self collection b…
    "20-296": (S.EXCEPTION, R.HELD_FOR_PAYMENT),  # Shipment in warehouse - waiting for consignee p…
    "24-628": (S.IN_TRANSIT, None),  # Direct delivery
    "24-501": (S.OUT_FOR_DELIVERY, None),  # Out for Delivery
    "361-139": (S.OUT_FOR_DELIVERY, None),  # Entered delivery geofence area
    "20-211": (S.ATTEMPT_FAIL, R.BUSINESS_CLOSED),  # Attempted DHL delivery - consignee closed
    "56-211": (S.ATTEMPT_FAIL, R.RECIPIENT_UNAVAILABLE),  # Attempted DHL delivery - consignee not…
    "56-292": (S.EXCEPTION, R.REFUSED),  # Attempted DHL delivery - refused by consignee, COD/DAD p…
    "56-284": (S.EXCEPTION, R.REFUSED),  # Attempted DHL delivery - refused by consignee, wrong goo…
    "56-611": (S.EXCEPTION, R.REFUSED),  # Attempted DHL delivery - refused by consignee.
    "56-241": (S.EXCEPTION, R.INCORRECT_DOCUMENTS),  # Attempted DHL delivery - refused due to miss…
    "20-234": (S.EXCEPTION, R.ADDRESS_ISSUE),  # Attempted DHL delivery - wrong consignee address
    "24-600": (S.DELIVERED, None),  # Received by consignee
    "21-234": (S.DELIVERED, None),  # Shipment delivered - new delivery address following consignee…
    "21-23": (S.EXCEPTION, None),  # Shipment delivered with exception - partly delivered
    "21-600": (S.DELIVERED, R.UNKNOWN),  # Shipment delivered with exception.
    "21-0": (S.DELIVERED, None),  # Delivered
    "361-140": (S.OUT_FOR_DELIVERY, None),  # Exited delivery geofence area
}

DGF: dict[str, tuple[S, R | None]] = {
    "DATA_SUBMITTED": (S.INFO_RECEIVED, None),  # DATA SUBMITTED - AWAITING PARCEL HANDOVER TO DHL…
    "PICKUP_SUCCESSFUL": (S.IN_TRANSIT, None),  # PICKUP SUCCESSFUL [transit (dgf sbr only)]
    "ARRIVED_AT_ORIGIN_FACILITY": (S.IN_TRANSIT, None),  # ARRIVED AT ORIGIN FACILITY [transit (dgf…
    "PROCESSED_AT_ORIGIN_FACILITY": (S.IN_TRANSIT, None),  # PROCESSED AT FACILITY [transit (dgf sb…
    "DEPARTED_FROM_ORIGIN_FACILITY": (S.IN_TRANSIT, None),  # DEPARTED FROM FACILITY [transit (dgf…
    "READY_FOR_DEPARTURE": (S.IN_TRANSIT, None),  # READY FOR DEPARTURE [transit (dgf sbr only)]
    "DEPARTED": (S.IN_TRANSIT, None),  # DEPARTED ON OUTBOUND FLIGHT [transit (dgf sbr only)]
    "ARRIVED": (S.IN_TRANSIT, None),  # FLIGHT LANDED [transit (dgf sbr only)]
    "ARRIVED_AT_CUSTOMS": (S.IN_TRANSIT, R.CUSTOMS),  # ARRIVED AT CUSTOMS [transit (dgf sbr only)]
    "CLEARED_BY_CUSTOMS": (S.IN_TRANSIT, None),  # CLEARED BY CUSTOMS [transit (dgf sbr only)]
    "ARRIVED_PROCESSED_AT_FACILITY": (S.IN_TRANSIT, None),  # ARRIVED AT FACILITY - PARTNER [transi…
    "OUT_FOR_DELIVERY": (S.OUT_FOR_DELIVERY, None),  # OUT FOR DELIVERY [transit (dgf sbr only)]
    "DELIVERED": (S.DELIVERED, None),  # SUCCESSFULLY DELIVERED [delivered (dgf sbr only)]
    "HELD_AT_CUSTOMS": (S.EXCEPTION, R.CUSTOMS),  # HELD AT CUSTOMS [transit (dgf sbr only)]
    "DELIVERY_EXCEPTION": (S.EXCEPTION, None),  # DELIVERY EXCEPTION [transit (dgf sbr only)]
}

SVB: dict[str, tuple[S, R | None]] = {
    "AMBIGUOUS": (S.UNKNOWN, None),  # UNKNOWN
    "AMOUNT_TRANSFERRED": (S.DELIVERED, None),  # DELIVERED
    "ANNOUNCED": (S.INFO_RECEIVED, None),  # PRE_TRANSIT
    "ARRIVAL_AT_OFFICE_OF_DELIVERY": (S.IN_TRANSIT, None),  # TRANSIT
    "ARRIVED_IN_DESTINATION_COUNTRY": (S.IN_TRANSIT, None),  # TRANSIT
    "ARRIVED_TRANSIT": (S.IN_TRANSIT, None),  # TRANSIT
    "BZ": (S.IN_TRANSIT, None),  # TRANSIT
    "BZA": (S.IN_TRANSIT, None),  # TRANSIT
    "BZE": (S.IN_TRANSIT, None),  # TRANSIT
    "CONFIRMATION_PENDING": (S.DELIVERED, None),  # DELIVERED
    "CONFIRMED": (S.DELIVERED, None),  # DELIVERED
    "CONFIRMED_BY_SENDER": (S.DELIVERED, None),  # DELIVERED
    "DELIVERED": (S.DELIVERED, None),  # DELIVERED
    "DELIVERED_ZU_NOT_OK": (S.DELIVERED, None),  # DELIVERED
    "DELIVERED_ZU_OK": (S.DELIVERED, None),  # DELIVERED
    "DELIVERY_ATTEMPTED": (S.ATTEMPT_FAIL, None),  # TRANSIT
    "DEPARTURE_FROM_INWARD_OE": (S.IN_TRANSIT, None),  # TRANSIT
    "FETCHED": (S.DELIVERED, None),  # DELIVERED
    "FETCHED_KEY_ACCOUNT_PENDING_DELIVERY_CONFIRMATION": (S.DELIVERED, None),  # DELIVERED
    "FETCHED_NOTIFIED": (S.DELIVERED, None),  # DELIVERED
    "FETCHED_PACKSTATION": (S.DELIVERED, None),  # DELIVERED
    "FETCHED_PENDING_DELIVERY_CONFIRMATION": (S.DELIVERED, None),  # DELIVERED
    "FETCHED_PO_BOX_PENDING_DELIVERY_CONFIRMATION": (S.DELIVERED, None),  # DELIVERED
    "FORWARDED_ABROAD": (S.IN_TRANSIT, None),  # TRANSIT
    "HANDOVER_CUSTOMS": (S.IN_TRANSIT, R.CUSTOMS),  # TRANSIT
    "HELD_BY_CUSTOMS": (S.EXCEPTION, R.CUSTOMS),  # TRANSIT
    "IN_DELIVERY": (S.OUT_FOR_DELIVERY, None),  # TRANSIT
    "IP_CUSTOMS": (S.IN_TRANSIT, R.CUSTOMS),  # TRANSIT
    "ISSUE_OF_A_REPLACEMENT_CERTIFICATE_PZA": (S.IN_TRANSIT, None),  # TRANSIT
    "MARBURG": (S.EXCEPTION, None),  # TRANSIT
    "NO_INFO": (S.UNKNOWN, None),  # UNKNOWN
    "NOTIFIED": (S.AVAILABLE_FOR_PICKUP, None),  # TRANSIT
    "NOTIFIED_KEY_ACCOUNT": (S.AVAILABLE_FOR_PICKUP, None),  # TRANSIT
    "NOTIFIED_PACKSTATION": (S.AVAILABLE_FOR_PICKUP, None),  # TRANSIT
    "NOTIFIED_PO_BOX": (S.AVAILABLE_FOR_PICKUP, None),  # TRANSIT
    "PAID_EPOS": (S.DELIVERED, None),  # DELIVERED
    "PAID_MAILMAN": (S.DELIVERED, None),  # DELIVERED
    "PASSED_LETTER_CENTER": (S.IN_TRANSIT, None),  # TRANSIT
    "POSTED": (S.IN_TRANSIT, None),  # TRANSIT
    "POSTED_ARRIVED": (S.IN_TRANSIT, None),  # TRANSIT
    "POSTED_MAIL_TERMINAL": (S.IN_TRANSIT, None),  # TRANSIT
    "REDIRECTED": (S.IN_TRANSIT, None),  # TRANSIT
    "RETURNED_TO_SENDER": (S.EXCEPTION, R.RETURNED_TO_SENDER),  # DELIVERED
    "SENT_BACK": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # TRANSIT [return]
    "SENT_BACK_ABROAD": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # TRANSIT [return]
    "TO_BE_SENT_ABROAD": (S.IN_TRANSIT, None),  # TRANSIT
}

DGF_DEPARTURES = frozenset(
    {
        "DEPARTED_FROM_ORIGIN_FACILITY",  # DEPARTED FROM FACILITY
        "DEPARTED",  # DEPARTED ON OUTBOUND FLIGHT
    }
)
SVB_DEPARTURES = frozenset(
    {
        "DEPARTURE_FROM_INWARD_OE",  # departure from the inward office of exchange (TRANSIT)
    }
)
