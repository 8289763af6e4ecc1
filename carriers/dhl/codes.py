"""DHL codes onto our (Status, Reason): which table each DHL format is read with.

* Unified API ``statusCode`` (``pre-transit``, ``transit``, ``delivered``, ``failure``,
  ``unknown``): :data:`UNIFIED_STATUS_CODES`. DHL's per-service status list
  (``codes/dhl_unified_status_codes.csv``) is in :data:`SERVICE_TABLES`, keyed by the
  Unified API ``service`` value; every one of its 1092 rows (1090 distinct service/code
  pairs) is mapped.
* Express XML-PI ``EventCode``: the ``express`` list plus observed XML-PI codes.
* Parcel DE ``standard-event-code``: the ``parcel-de`` list.
* eCommerce legacy XML ``<code>``: observed legacy wording first, then the ``ecommerce``
  list (the numbering is the same; see ``tables_ecommerce``).

A code that is in none of these tables is not guessed: the parsers give the event status
``unknown`` and the result an ``unknown_code`` problem (:func:`unknown_code_problem`).

Each table has its set of departure codes (the parcel left the place of the event), read
the same way: :data:`SERVICE_DEPARTURES` per Unified service, and one set each for XML-PI,
Parcel DE and the eCommerce legacy XML.
"""

from __future__ import annotations

from carriers.dhl.tables_ecommerce import (
    ECOMMERCE,
    ECOMMERCE_DEPARTURES,
    ECOMMERCE_EUROPE,
    ECOMMERCE_EUROPE_DEPARTURES,
    ECOMMERCE_LEGACY_OBSERVED,
    ECOMMERCE_LEGACY_OBSERVED_DEPARTURES,
    ECOMMERCE_PPL,
)
from carriers.dhl.tables_express import (
    EXPRESS,
    EXPRESS_DEPARTURES,
    EXPRESS_XML_OBSERVED,
    EXPRESS_XML_OBSERVED_DEPARTURES,
    PARCEL_DE,
    PARCEL_DE_DEPARTURES,
)
from carriers.dhl.tables_freight import DGF, DGF_DEPARTURES, FREIGHT, SVB, SVB_DEPARTURES
from carriers.dhl.tables_parcel import (
    PARCEL_NL,
    PARCEL_NL_DEPARTURES,
    PARCEL_PL,
    PARCEL_PL_DEPARTURES,
)
from carriers.models import Problem, ProblemKind
from carriers.taxonomy import Reason, Status

Mapping = tuple[Status, Reason | None]

UNIFIED_STATUS_CODES: dict[str, Mapping] = {
    "pre-transit": (Status.INFO_RECEIVED, None),
    "transit": (Status.IN_TRANSIT, None),
    "delivered": (Status.DELIVERED, None),
    "failure": (Status.EXCEPTION, None),
    "unknown": (Status.UNKNOWN, None),  # DHL itself does not know the state
}

# Which statuses a per-service code may refine each Unified statusCode into. A service code
# never moves a parcel to "delivered" unless DHL's statusCode says delivered, never moves a
# delivered one back into transit, and does not override DHL's own "unknown".
REFINABLE: dict[str, frozenset[Status]] = {
    "pre-transit": frozenset({Status.PENDING, Status.INFO_RECEIVED, Status.EXCEPTION}),
    "transit": frozenset(
        {
            Status.IN_TRANSIT,
            Status.OUT_FOR_DELIVERY,
            Status.AVAILABLE_FOR_PICKUP,
            Status.ATTEMPT_FAIL,
            Status.EXCEPTION,
        }
    ),
    "delivered": frozenset({Status.DELIVERED, Status.AVAILABLE_FOR_PICKUP, Status.EXCEPTION}),
    "failure": frozenset({Status.EXCEPTION, Status.ATTEMPT_FAIL}),
    "unknown": frozenset(),
}

SERVICE_TABLES: dict[str, dict[str, Mapping]] = {
    "express": EXPRESS,
    "parcel-de": PARCEL_DE,
    "parcel-nl": PARCEL_NL,
    "parcel-pl": PARCEL_PL,
    "ecommerce": ECOMMERCE,
    "ecommerce-europe": ECOMMERCE_EUROPE,
    "ecommerce-ppl": ECOMMERCE_PPL,
    "freight": FREIGHT,
    "dgf": DGF,
    "svb": SVB,
}

# Departure codes per service; a service not listed (ecommerce-ppl, freight) has none.
SERVICE_DEPARTURES: dict[str, frozenset[str]] = {
    "express": EXPRESS_DEPARTURES,
    "parcel-de": PARCEL_DE_DEPARTURES,
    "parcel-nl": PARCEL_NL_DEPARTURES,
    "parcel-pl": PARCEL_PL_DEPARTURES,
    "ecommerce": ECOMMERCE_DEPARTURES,
    "ecommerce-europe": ECOMMERCE_EUROPE_DEPARTURES,
    "dgf": DGF_DEPARTURES,
    "svb": SVB_DEPARTURES,
}

EXPRESS_XML: dict[str, Mapping] = {**EXPRESS, **EXPRESS_XML_OBSERVED}
ECOMMERCE_LEGACY: dict[str, Mapping] = {**ECOMMERCE, **ECOMMERCE_LEGACY_OBSERVED}
EXPRESS_XML_DEPARTURES = EXPRESS_DEPARTURES | EXPRESS_XML_OBSERVED_DEPARTURES
# The legacy wording replaces the list's for the codes it has (300 is "DN SEND" in the list).
ECOMMERCE_LEGACY_DEPARTURES = (
    ECOMMERCE_DEPARTURES - ECOMMERCE_LEGACY_OBSERVED.keys()
) | ECOMMERCE_LEGACY_OBSERVED_DEPARTURES

# Express XML-PI ConditionCode meaning "no shipment for this AWB".
EXPRESS_NOT_FOUND_CONDITIONS = frozenset({"103"})
# Parcel DE piece-shipment-list code meaning "no data found".
PARCEL_DE_NOT_FOUND_CODES = frozenset({"100"})
# Unified API HTTP status carried in problem+json meaning "no shipment found".
UNIFIED_NOT_FOUND_STATUS = 404


def service_code(service: str | None, code: str) -> Mapping | None:
    """The mapping of ``code`` in DHL's list for ``service``; None if not listed there."""
    table = SERVICE_TABLES.get((service or "").strip().lower())
    return None if table is None else table.get(code.strip())


def unified_status(status_code: str, service: str | None, status: str | None) -> Mapping | None:
    """(Status, Reason) of a Unified API status or event; None when statusCode is unknown.

    ``statusCode`` decides. ``status`` refines it only when it is a code of the shipment's
    service in DHL's list and its status is one :data:`REFINABLE` allows for that
    statusCode; any other ``status`` is free text.
    """
    base = UNIFIED_STATUS_CODES.get(status_code.strip().lower())
    if base is None:
        return None
    refined = service_code(service, status) if status else None
    if refined is not None and refined[0] in REFINABLE[status_code.strip().lower()]:
        return refined
    return base


def service_departs(service: str | None, code: str) -> bool:
    """Whether ``code`` is a departure scan in DHL's list for ``service``."""
    return code.strip() in SERVICE_DEPARTURES.get((service or "").strip().lower(), frozenset())


def is_service_code(status_code: str, service: str | None, status: str | None) -> bool:
    """Whether ``status`` is the service code that decided :func:`unified_status`."""
    base = UNIFIED_STATUS_CODES.get(status_code.strip().lower())
    refined = service_code(service, status) if status else None
    return (
        base is not None
        and refined is not None
        and refined[0] in REFINABLE[status_code.strip().lower()]
    )


def express_xml_code(code: str) -> Mapping | None:
    return EXPRESS_XML.get(code.strip())


def express_xml_departs(code: str) -> bool:
    return code.strip() in EXPRESS_XML_DEPARTURES


def parcel_de_code(code: str) -> Mapping | None:
    return PARCEL_DE.get(code.strip())


def ecommerce_legacy_code(code: str) -> Mapping | None:
    return ECOMMERCE_LEGACY.get(code.strip())


def ecommerce_legacy_departs(code: str) -> bool:
    return code.strip() in ECOMMERCE_LEGACY_DEPARTURES


def unknown_code_problem(table: str, code: str) -> Problem:
    return Problem(
        kind=ProblemKind.UNKNOWN_CODE,
        code=code,
        message=(
            f"DHL {table} code {code!r} is not in our DHL code tables; the event's status is "
            "unknown. Add the code to carriers/dhl/tables_*.py once DHL documents it"
        ),
    )
