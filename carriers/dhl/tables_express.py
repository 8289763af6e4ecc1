"""DHL Express and DHL Parcel DE code tables.

``EXPRESS`` and ``PARCEL_DE`` map every row of the ``express`` and ``parcel-de`` services in
DHL's per-service status list (``codes/dhl_unified_status_codes.csv``) onto our (Status,
Reason). ``EXPRESS_XML_OBSERVED`` adds the XML-PI checkpoint codes seen in real
``TrackingResponse`` payloads that the list does not carry. The comment after an entry is
DHL's description, shortened where it does not fit. The ``*_DEPARTURES`` sets name the codes
of each table that say the parcel left the place of the event (departure scans).

Rules used throughout the DHL tables: a reason only where DHL states a cause; delays and
holds are ``exception``; routine customs processing is ``in_transit`` with reason
``customs``, a customs hold or delay is ``exception``/``customs``; refusals are
``exception``/``refused``; a partial delivery is an ``exception`` (not every piece arrived,
so it must not end tracking as ``delivered``).
"""

from __future__ import annotations

from carriers.taxonomy import Reason as R
from carriers.taxonomy import Status as S

EXPRESS: dict[str, tuple[S, R | None]] = {
    "101": (S.DELIVERED, None),  # delivered [on shipment level]
    "102": (S.IN_TRANSIT, None),  # transit [on shipment level]
    "103": (S.EXCEPTION, None),  # failure [on shipment level]
    "104": (S.INFO_RECEIVED, None),  # pre-transit [on shipment level]
    "AD": (S.IN_TRANSIT, None),  # Agreed delivery
    "AF": (S.IN_TRANSIT, None),  # Arrived facility
    "AR": (S.IN_TRANSIT, None),  # Arrival in delivery facility
    "BA": (S.EXCEPTION, R.ADDRESS_ISSUE),  # Bad address
    "BN": (S.IN_TRANSIT, R.CUSTOMS),  # Customer broker notified
    "BR": (S.IN_TRANSIT, None),  # Broker release [no EDD]
    "CA": (S.ATTEMPT_FAIL, R.BUSINESS_CLOSED),  # Closed on arrival [no EDD]
    "CC": (S.AVAILABLE_FOR_PICKUP, None),  # Awaiting cnee collection [no EDD]
    "CD": (S.EXCEPTION, R.CUSTOMS),  # Controllable clearance delay
    "CM": (S.EXCEPTION, R.ADDRESS_ISSUE),  # Customer moved
    "CR": (S.IN_TRANSIT, None),  # Clearance release
    "CS": (S.EXCEPTION, None),  # Closed shipment [no EDD]
    "DD": (S.DELIVERED, R.DAMAGED),  # Delivered damaged [no EDD]
    "DF": (S.IN_TRANSIT, None),  # Depart facility
    "DS": (S.EXCEPTION, None),  # Destroyed / disposal [no EDD]
    "FD": (S.IN_TRANSIT, None),  # Forward destination (DD's expected)
    "HP": (S.EXCEPTION, R.HELD_FOR_PAYMENT),  # Held for payment
    "IC": (S.IN_TRANSIT, R.CUSTOMS),  # In clearance processing
    "MC": (S.EXCEPTION, R.MISSORT),  # Miscode
    "MD": (S.EXCEPTION, R.TRANSPORT_DELAY),  # Missed delivery cycle
    "MS": (S.EXCEPTION, R.MISSORT),  # Mis-sort
    "ND": (S.ATTEMPT_FAIL, None),  # Not delivered
    "NH": (S.ATTEMPT_FAIL, R.RECIPIENT_UNAVAILABLE),  # Not home [no EDD]
    "OH": (S.EXCEPTION, None),  # On hold
    "OK": (S.DELIVERED, None),  # Delivery [no EDD]
    "PD": (S.EXCEPTION, None),  # Partial delivery [no EDD]
    "PL": (S.IN_TRANSIT, None),  # Processed at location
    "PU": (S.IN_TRANSIT, None),  # Shipment pick up
    "RD": (S.EXCEPTION, R.REFUSED),  # Refused delivery [no EDD]
    "RR": (S.IN_TRANSIT, None),  # Response received
    "RT": (S.EXCEPTION, R.RETURNED_TO_SENDER),  # Returned to consignor [no EDD]
    "SA": (S.IN_TRANSIT, None),  # Shipment acceptance
    "SC": (S.IN_TRANSIT, None),  # Service changed
    "SS": (S.EXCEPTION, None),  # Shipment stopped [no EDD]
    "TP": (S.IN_TRANSIT, None),  # Forwarded to 3rd party - no DD's [no EDD]
    "TR": (S.IN_TRANSIT, None),  # Record of transfer
    "UD": (S.EXCEPTION, R.CUSTOMS),  # Uncontrollable clearance delay
    "WC": (S.OUT_FOR_DELIVERY, None),  # With delivering courier
    "PY": (S.IN_TRANSIT, None),  # Payment [new since 4th June 2024]
    "SM": (S.IN_TRANSIT, None),  # Scheduled for movement [new since 4th June 2024]
}

# XML-PI checkpoint codes observed in TrackingResponse payloads and absent from DHL's list.
EXPRESS_XML_OBSERVED: dict[str, tuple[S, R | None]] = {
    "PO": (S.IN_TRANSIT, None),  # "Departing origin"
    # RW comes with an empty description; in the samples it sits at the origin facility
    # between pick-up and processing, and its Signatory field carries a weight (21.20 for a
    # 24.5 kg shipment): the origin re-weigh scan, a facility scan of a moving parcel.
    "RW": (S.IN_TRANSIT, None),
}

PARCEL_DE: dict[str, tuple[S, R | None]] = {
    "AA": (S.IN_TRANSIT, None),  # Departed from … (initial scan at inbound hub or departure from i…
    "AE": (S.IN_TRANSIT, None),  # Pickup successful at customer site
    "AN": (S.EXCEPTION, R.MISSED_PICKUP),  # Pickup not successful at customer site
    "BV": (S.EXCEPTION, None),  # Exception occured, e.g. damaged parcel or delay in delivery
    "DD": (S.IN_TRANSIT, None),  # Data service, e.g. a delivery day was booked by receiver
    "EE": (S.IN_TRANSIT, None),  # Arrived at … (arrival scan at delivery hub or intransit-hub)
    "ES": (S.IN_TRANSIT, None),  # First processed by DHL, e.g. handover by customer to a DHL facil…
    "GT": (S.DELIVERED, None),  # Money transfer
    "LA": (S.AVAILABLE_FOR_PICKUP, None),  # In storage, e.g. waiting for pickup by receiver
    "NB": (S.IN_TRANSIT, None),  # Normal processing during transit
    "PO": (S.OUT_FOR_DELIVERY, None),  # In delivery process
    "VA": (S.INFO_RECEIVED, None),  # Electronic pre advise of a shipment
    "ZF": (S.AVAILABLE_FOR_PICKUP, None),  # Delivery to agency / postal office / Packstation
    "ZN": (S.ATTEMPT_FAIL, None),  # Delivery attempt not successful
    "ZO": (S.IN_TRANSIT, R.CUSTOMS),  # Customs clearance
    "ZU": (S.DELIVERED, None),  # Delivery successful
}

EXPRESS_DEPARTURES = frozenset(
    {
        "DF",  # Depart facility
    }
)
EXPRESS_XML_OBSERVED_DEPARTURES = frozenset(
    {
        "PO",  # "Departing origin"
    }
)
PARCEL_DE_DEPARTURES = frozenset(
    {
        "AA",  # Departed from … ("Departure from a DHL location; e.g. the outbound parcel hub.")
    }
)
