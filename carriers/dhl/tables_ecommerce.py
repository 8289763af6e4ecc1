"""DHL eCommerce code tables: eCommerce (Americas/Asia), eCommerce Europe, eCommerce PPL.

``ECOMMERCE``, ``ECOMMERCE_EUROPE`` and ``ECOMMERCE_PPL`` map every row of those services in
DHL's per-service status list (``codes/dhl_unified_status_codes.csv``); the comment after an
entry is DHL's description (and DHL's own category in brackets where the list gives one).
``ECOMMERCE_LEGACY_OBSERVED`` holds the codes of the legacy Global Mail tracking XML whose
wording differs from today's list (same numbering; see parse_ecommerce).

Return legs (8xx codes, "return ..." events) are read from the point of view of the order
being tracked: the parcel is going back to the sender (``returning_to_sender``) until DHL
reports it handed back (``returned_to_sender``). Proof-of-delivery paperwork events
(867-872) follow a delivery and keep the parcel ``delivered``.

The ``*_DEPARTURES`` sets name the codes whose description says the parcel departed or left
a place (departure scans), return legs included; not "ready for departure", "uplift" or
"dispatched" codes. eCommerce PPL has none.
"""

from __future__ import annotations

from carriers.taxonomy import Reason as R
from carriers.taxonomy import Status as S

ECOMMERCE: dict[str, tuple[S, R | None]] = {
    "100": (S.IN_TRANSIT, None),  # PICKED UP FROM SENDER
    "101": (S.EXCEPTION, R.CANCELLED),  # SHIPMENT CANCELED
    "104": (S.IN_TRANSIT, None),  # ARRIVED AT ORIGIN PROCESSING FACILITY
    "106": (S.IN_TRANSIT, None),  # PACKAGE SCREENED SUCCESSFULLY
    "107": (S.EXCEPTION, None),  # PACKAGE SCREENING EXCEPTION - CANNOT BE SHIPPED INTERNATIONAL
    "108": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # PACKAGE SCREENING EXCEPTION - RETURNING TO SHIP…
    "109": (S.INFO_RECEIVED, None),  # PICK UP BOOKED
    "110": (S.IN_TRANSIT, None),  # SHIPMENT DEPARTED SELLERS ORIGIN TERMINAL
    "113": (S.IN_TRANSIT, None),  # PARTNER EVENT - DEPARTED PARTNER FACILITY
    "114": (S.IN_TRANSIT, None),  # PACKAGE DEPARTED SCREENING FACILITY
    "115": (S.IN_TRANSIT, None),  # RECEIVED BY CARRIER FOR TRANSPORT
    "116": (S.IN_TRANSIT, None),  # ARRIVAL SERVICE POINT
    "120": (S.IN_TRANSIT, None),  # DEPARTURE DHL DISTRIBUTION CENTER
    "125": (S.IN_TRANSIT, None),  # ARRIVAL SORT LOCATION
    "128": (S.INFO_RECEIVED, None),  # APPROACHING PICK UP LOCATION
    "129": (S.INFO_RECEIVED, None),  # OUT FOR PARCEL COLLECTION
    "130": (S.IN_TRANSIT, None),  # PICKED UP
    "132": (S.IN_TRANSIT, None),  # EN ROUTE TO DHL ECOMMERCE
    "134": (S.EXCEPTION, R.MISSED_PICKUP),  # UNSUCCESSFUL COLLECTION ATTEMPT
    "135": (S.INFO_RECEIVED, None),  # PICK UP RESCHEDULED
    "150": (S.IN_TRANSIT, None),  # AVAILABLE FOR DELIVERY TO DHL DISTRIBUTION CENTER
    "155": (S.IN_TRANSIT, None),  # ARRIVAL DHL DISTRIBUTION CENTER
    "156": (S.IN_TRANSIT, None),  # ARRIVED AT DEPOT
    "161": (S.IN_TRANSIT, None),  # PARCEL AUTHORIZED TO LEAVE
    "162": (S.IN_TRANSIT, None),  # REDIRECTED TO PARCEL SHOP
    "163": (S.INFO_RECEIVED, None),  # SHIPMENT DATA UPDATED
    "164": (S.INFO_RECEIVED, None),  # THE SHIPMENT INFORMATION IS EDITED
    "200": (S.IN_TRANSIT, None),  # PACKAGE RECEIVED AT DHL ECOMMERCE DISTRIBUTION CENTER
    "211": (S.IN_TRANSIT, None),  # PARCEL ACCEPTED, NOT YET PROCESSED
    "220": (S.IN_TRANSIT, None),  # ENCODED
    "229": (S.IN_TRANSIT, None),  # PHYSICAL PACKAGE RECEIVED WITH NO ELECTRONIC DATA
    "235": (S.INFO_RECEIVED, None),  # SHIPMENT LABEL CREATED
    "238": (S.INFO_RECEIVED, None),  # LABEL CREATED
    "240": (S.EXCEPTION, R.HELD_FOR_PAYMENT),  # DUTY/TAX ASSESSED FOR PACKAGE, AWAITING PAYMENT. P…
    "241": (S.IN_TRANSIT, None),  # DUTY/TAX PAYMENT RECEIVED
    "242": (S.IN_TRANSIT, None),  # DUTY/TAX PAYMENT NOT COLLECTED. PACKAGE WILL BE SENT FOR PROCES…
    "300": (S.IN_TRANSIT, None),  # DN SEND
    "312": (S.EXCEPTION, None),  # PARCEL ON HOLD
    "313": (S.IN_TRANSIT, None),  # SUCCESSFUL CUSTOMER SERVICE RESOLUTION
    "350": (S.IN_TRANSIT, None),  # DN RECEIVED
    "358": (S.EXCEPTION, None),  # HELD IN FACILITY - AWAITING INSTRUCTIONS
    "359": (S.IN_TRANSIT, None),  # SHIPMENT IS RELEASED FROM HOLD FOR PROCESSING
    "360": (S.IN_TRANSIT, None),  # ARRIVED AT DESTINATION COUNTRY
    "361": (S.IN_TRANSIT, None),  # ARRIVAL IN COUNTRY
    "365": (S.IN_TRANSIT, None),  # PROCESSED SORT FACILITY
    "371": (S.IN_TRANSIT, None),  # PARCEL RECOVER
    "399": (S.IN_TRANSIT, None),  # DEPARTED FROM FACILITY
    "400": (S.IN_TRANSIT, None),  # MANIFESTED
    "401": (S.IN_TRANSIT, None),  # MANIFESTED FOR OUTBOUND TRANSPORTATION
    "402": (S.IN_TRANSIT, None),  # IN TRANSIT
    "431": (S.IN_TRANSIT, None),  # PROCESSING COMPLETED AT ORIGIN
    "441": (S.IN_TRANSIT, R.CUSTOMS),  # ARRIVED AT CUSTOMS
    "442": (S.IN_TRANSIT, None),  # CLEARED CUSTOMS
    "443": (S.EXCEPTION, R.CUSTOMS),  # HELD AT CUSTOMS
    "445": (S.INFO_RECEIVED, None),  # ELECTRONIC SHIPPING INFO RECEIVED
    "447": (S.IN_TRANSIT, R.CUSTOMS),  # ARRIVED AT CUSTOMS
    "448": (S.EXCEPTION, R.CUSTOMS),  # CLEARANCE NOT POSSIBLE
    "449": (S.IN_TRANSIT, None),  # CLEARED CUSTOMS
    "450": (S.EXCEPTION, R.TRANSPORT_DELAY),  # POSSIBLE TRANSIT DELAY
    "451": (S.IN_TRANSIT, None),  # MANIFESTED FOR OUTBOUND TRANSPORTATION
    "452": (S.IN_TRANSIT, None),  # PARCEL CLEARED CUSTOMS - PARTNER
    "453": (S.EXCEPTION, R.CUSTOMS),  # PARCEL HELD FOR EXAM - PARTNER
    "454": (S.IN_TRANSIT, None),  # ARRIVED AT FACILITY - PARTNER
    "456": (S.IN_TRANSIT, None),  # SHIPMENT DEPARTED SELLER ORIGINAL TERMINAL – PARTNER
    "461": (S.IN_TRANSIT, None),  # PARTNER EVENT - SHIPMENT PICKED UP BY SHIPPING PARTNER
    "462": (S.IN_TRANSIT, None),  # PARTNER EVENT - SHIPMENT HAS ARRIVED AT PARTNER FACILITY
    "463": (S.IN_TRANSIT, R.CUSTOMS),  # PARTNER EVENT - ARRIVED AT CUSTOMS FACILITY
    "464": (S.IN_TRANSIT, None),  # PARTNER EVENT - DEPARTED CUSTOMS FACILITY
    "468": (S.IN_TRANSIT, None),  # ARRIVAL AT POST OFFICE
    "469": (S.AVAILABLE_FOR_PICKUP, None),  # AWAITING COLLECTION AT DHL SERVICE POINT
    "470": (S.IN_TRANSIT, None),  # ARRIVED AT TERMINAL LOCATION
    "472": (S.IN_TRANSIT, None),  # ARRIVED AT TERMINAL LOCATION
    "473": (S.IN_TRANSIT, None),  # AVAILABLE FOR DELIVERY
    "477": (S.IN_TRANSIT, None),  # PROCESSED SORT FACILITY
    "478": (S.IN_TRANSIT, None),  # IN TRANSIT TO DELIVERY PROVIDER
    "479": (S.IN_TRANSIT, None),  # FORWARDED TO DELIVERY AGENT
    "480": (S.IN_TRANSIT, None),  # FORWARDED TO LOCAL POST OFFICE
    "481": (S.IN_TRANSIT, None),  # DEPARTED TERMINAL LOCATION
    "482": (S.IN_TRANSIT, None),  # DEPARTED FROM FACILITY
    "483": (S.IN_TRANSIT, None),  # PROCESSED AT EXPORT FACILITY
    "494": (S.IN_TRANSIT, None),  # ARRIVED AT DELIVERY FACILITY
    "499": (S.IN_TRANSIT, None),  # ARRIVED AT USPS FACILITY
    "50": (S.IN_TRANSIT, None),  # RECEIVED BY USPS
    "501": (S.IN_TRANSIT, R.CUSTOMS),  # ARRIVED AT CUSTOMS
    "502": (S.IN_TRANSIT, None),  # CLEARED CUSTOMS
    "503": (S.EXCEPTION, R.HELD_FOR_PAYMENT),  # CONSIGNEE CONTACTED FOR PAYMENT
    "504": (S.IN_TRANSIT, None),  # DUTIES PAYMENT RECEIVED
    "505": (S.IN_TRANSIT, None),  # SHIPMENT ACCEPTED BY USPS
    "506": (S.EXCEPTION, R.CUSTOMS),  # HELD AT CUSTOMS
    "507": (S.EXCEPTION, R.CUSTOMS),  # HELD AT CUSTOMS
    "508": (S.EXCEPTION, R.CUSTOMS),  # CUSTOMS DELAY
    "509": (S.IN_TRANSIT, R.CUSTOMS),  # IN CLEARANCE PROCESSING
    "51": (S.IN_TRANSIT, None),  # ENROUTE - ONI
    "510": (S.IN_TRANSIT, None),  # ITEM OR SACK SCANNED BY USPS
    "511": (S.IN_TRANSIT, None),  # SHIPMENT ACCEPTED BY USPS
    "513": (S.IN_TRANSIT, None),  # PIECE BUT NO DATA
    "515": (S.IN_TRANSIT, None),  # ARRIVED AT EXPORT FACILITY
    "517": (S.IN_TRANSIT, None),  # LOADED FOR TRANSPORT
    "518": (S.IN_TRANSIT, None),  # DEPARTED FROM EXPORT FACILITY
    "520": (S.IN_TRANSIT, None),  # ARRIVAL AT POST OFFICE
    "521": (S.IN_TRANSIT, None),  # ARRIVED AT TERMINAL LOCATION
    "522": (S.AVAILABLE_FOR_PICKUP, None),  # AVAILABLE FOR PICKUP AT POST OFFICE
    "523": (S.IN_TRANSIT, None),  # HANDED OVER TO PARTNER CARRIER
    "524": (S.IN_TRANSIT, None),  # PROCESSED THROUGH USPS SORT FACILITY
    "525": (S.IN_TRANSIT, None),  # EN ROUTE TO DELIVERY LOCATION
    "526": (S.IN_TRANSIT, None),  # ARRIVED USPS SORT FACILITY
    "528": (S.IN_TRANSIT, None),  # PROCESSED AT EXPORT FACILITY
    "529": (S.IN_TRANSIT, None),  # PROCESSED SORT FACILITY
    "530": (S.IN_TRANSIT, None),  # FORWARDED
    "531": (S.IN_TRANSIT, None),  # DEPARTED TERMINAL LOCATION
    "532": (S.IN_TRANSIT, None),  # IN TRANSIT TO DESTINATION COUNTRY
    "533": (S.IN_TRANSIT, None),  # ARRIVAL AT DESTINATION COUNTRY - TRACKING UPDATES MAY END HERE,…
    "534": (S.IN_TRANSIT, None),  # FORWARDED
    "535": (S.IN_TRANSIT, None),  # HANDED OVER TO PARTNER CARRIER
    "536": (S.IN_TRANSIT, None),  # SORTED THROUGH USPS FACILITY
    "537": (S.IN_TRANSIT, None),  # SORTED LOCALLY TO 5 DIGIT DESTINATION
    "538": (S.IN_TRANSIT, None),  # DEPART USPS SORT FACILITY
    "539": (S.IN_TRANSIT, None),  # SORTING COMPLETE
    "540": (S.IN_TRANSIT, None),  # PROCESSED THROUGH USPS SORT FACILITY
    "541": (S.IN_TRANSIT, None),  # EN ROUTE TO DELIVERY LOCATION
    "542": (S.IN_TRANSIT, None),  # ARRIVED AT DELIVERY TERMINAL
    "543": (S.IN_TRANSIT, None),  # SHIPMENT WAS PROCESSED AT DESTINATION SORTING HUB
    "544": (S.OUT_FOR_DELIVERY, None),  # SHIPMENT WAS LOADED INTO DELIVERY VEHICLE
    "545": (S.IN_TRANSIT, None),  # ENROUTE
    "546": (S.EXCEPTION, R.MISSORT),  # MISROUTED
    "547": (S.IN_TRANSIT, None),  # AVAILABLE FOR DELIVERY
    "548": (S.IN_TRANSIT, None),  # AVAILABLE FOR DELIVERY
    "549": (S.IN_TRANSIT, None),  # ARRIVAL IN DESTINATION COUNTRY – END OF TRACKING, DELIVERY SHOR…
    "550": (S.ATTEMPT_FAIL, None),  # NOTICE LEFT
    "551": (S.ATTEMPT_FAIL, R.RECIPIENT_UNAVAILABLE),  # NO ONE HOME, CARD LEFT
    "552": (S.ATTEMPT_FAIL, R.RECIPIENT_UNAVAILABLE),  # NO ONE TO RECEIVE, CARD LEFT
    "553": (S.ATTEMPT_FAIL, None),  # NOTICE LEFT (RECEPTACLE FULL/ITEM OVERSIZED)
    "554": (S.ATTEMPT_FAIL, R.RECIPIENT_UNAVAILABLE),  # NOTICE LEFT (NO SECURE LOCATION AVAILABLE)
    "555": (S.ATTEMPT_FAIL, R.BUSINESS_CLOSED),  # NOTICE LEFT (BUSINESS CLOSED)
    "556": (S.ATTEMPT_FAIL, R.RECIPIENT_UNAVAILABLE),  # NOTICE LEFT (NO AUTHORIZED RECIPIENT AVAIL…
    "557": (S.IN_TRANSIT, None),  # SHIPMENT WAS PROCESSED AT DESTINATION SORTING HUB
    "558": (S.OUT_FOR_DELIVERY, None),  # RECIPIENT IS NEXT STOP ON ROUTE
    "560": (S.AVAILABLE_FOR_PICKUP, None),  # ARRIVAL AT PICK-UP-POINT
    "561": (S.IN_TRANSIT, None),  # SHIPMENT UPLIFT SUCCESS
    "562": (S.IN_TRANSIT, None),  # ARRIVAL AT FACILITY
    "563": (S.ATTEMPT_FAIL, None),  # ATTEMPTED DELIVERY
    "564": (S.ATTEMPT_FAIL, R.BUSINESS_CLOSED),  # NOTICE LEFT (BUSINESS CLOSED)
    "565": (S.AVAILABLE_FOR_PICKUP, None),  # ARRIVED AT PICKUP POINT
    "566": (S.IN_TRANSIT, None),  # ARRIVED AT TRANSIT FACILITY
    "567": (S.IN_TRANSIT, None),  # PROCESSED AT TRANSIT FACILITY
    "568": (S.IN_TRANSIT, None),  # DEPARTED FROM TRANSIT FACILITY
    "570": (S.AVAILABLE_FOR_PICKUP, None),  # AVAILABLE FOR PICKUP
    "571": (S.ATTEMPT_FAIL, None),  # DELIVERY ATTEMPTED; RETURNED FOR RE-DELIVERY
    "572": (S.DELIVERED, None),  # PICKED UP BY CONSIGNEE FROM PICKUP LOCATION
    "573": (S.EXCEPTION, None),  # CONTACT LOCAL CUSTOMER SERVICE
    "574": (S.IN_TRANSIT, None),  # EXPECTED DELIVERY
    "575": (S.IN_TRANSIT, None),  # ARRIVED AT LOCAL DISTRIBUTION CENTER
    "576": (S.IN_TRANSIT, None),  # PROCESSED AT LOCAL DISTRIBUTION CENTER
    "577": (S.IN_TRANSIT, None),  # DEPARTED FROM LOCAL DISTRIBUTION CENTER
    "579": (S.IN_TRANSIT, None),  # PROCESSED AT DELIVERY TERMINAL
    "580": (S.OUT_FOR_DELIVERY, None),  # OUT FOR SECOND DELIVERY ATTEMPT
    "581": (S.IN_TRANSIT, None),  # RESCHEDULED
    "582": (S.IN_TRANSIT, None),  # CHANGE OF ADDRESS
    "583": (S.ATTEMPT_FAIL, None),  # FINAL DELIVERY ATTEMPT
    "585": (S.AVAILABLE_FOR_PICKUP, None),  # AVAILABLE FOR PICKUP
    "588": (S.AVAILABLE_FOR_PICKUP, R.CUSTOMS),  # SHIPMENT HANDED OVER TO LOCAL CUSTOMS OFFICE; CO…
    "589": (S.IN_TRANSIT, None),  # PICKED UP BY AGENT
    "590": (S.IN_TRANSIT, None),  # PICKED UP BY AGENT
    "591": (S.DELIVERED, None),  # COD AMOUNT COLLECTED
    "592": (S.EXCEPTION, None),  # POSSIBLE DELIVERY DELAY
    "593": (S.EXCEPTION, None),  # POSSIBLE DELAY
    "594": (S.EXCEPTION, R.RECIPIENT_UNAVAILABLE),  # CONSIGNEE ON HOLIDAY
    "595": (S.ATTEMPT_FAIL, None),  # ATTEMPTED DELIVERY
    "596": (S.ATTEMPT_FAIL, None),  # ATTEMPTED DELIVERY
    "597": (S.OUT_FOR_DELIVERY, None),  # OUT FOR DELIVERY
    "598": (S.OUT_FOR_DELIVERY, None),  # OUT FOR DELIVERY
    "599": (S.AVAILABLE_FOR_PICKUP, None),  # AVAILABLE FOR PICKUP FROM SERVICE POINT
    "600": (S.DELIVERED, None),  # DELIVERED
    "601": (S.AVAILABLE_FOR_PICKUP, None),  # DELIVERED TO PICK-UP LOCATION – CUSTOMER NOTIFIED
    "602": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # UNDELIVERABLE - RETURNED TO SENDER
    "603": (S.EXCEPTION, None),  # RETURNED TO WAREHOUSE
    "604": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # SHIPMENT RECALLED BY SENDER
    "605": (S.ATTEMPT_FAIL, None),  # NO ACCESS
    "606": (S.DELIVERED, None),  # DELIVERED - LEFT WITH NEIGHBOR/FRONT DESK/OTHER
    "607": (S.DELIVERED, None),  # SECOND DELIVERY ATTEMPT SUCCESSFUL
    "608": (S.EXCEPTION, R.REFUSED),  # DUTIES AND TAX PAYMENT REFUSED BY CONSIGNEE
    "609": (S.IN_TRANSIT, None),  # RESCHEDULED BY REQUEST FROM CONSIGNEE
    "610": (S.EXCEPTION, R.REFUSED),  # REFUSED
    "611": (S.EXCEPTION, R.REFUSED),  # UNDELIVERABLE - CUSTOMER REFUSED SHIPMENT
    "612": (S.ATTEMPT_FAIL, R.BUSINESS_CLOSED),  # CLOSED ON ARRIVAL
    "613": (S.ATTEMPT_FAIL, R.RECIPIENT_UNAVAILABLE),  # NO ONE HOME
    "614": (S.ATTEMPT_FAIL, R.HELD_FOR_PAYMENT),  # COD NOT READY
    "615": (S.ATTEMPT_FAIL, None),  # ATTEMPTED DELIVERY
    "616": (S.IN_TRANSIT, None),  # RESCHEDULED
    "617": (S.DELIVERED, None),  # COD AMOUNT REMITTED
    "618": (S.DELIVERED, None),  # COD AMOUNT DEPOSITED
    "619": (S.EXCEPTION, R.REFUSED),  # REJECTED AFTER OPENING
    "620": (S.EXCEPTION, R.DAMAGED),  # VISIBLE DAMAGE
    "621": (S.DELIVERED, None),  # DELIVERED - BUSINESS ADDRESS
    "623": (S.EXCEPTION, R.DAMAGED),  # VISIBLE DAMAGE
    "624": (S.INFO_RECEIVED, None),  # APPROACHING RETURN PICK UP LOCATION
    "625": (S.EXCEPTION, None),  # UNDELIVERABLE
    "626": (S.EXCEPTION, None),  # UNDELIVERABLE
    "627": (S.EXCEPTION, R.MISSED_PICKUP),  # UNSUCCESSFUL RETURN PICKUP
    "628": (S.IN_TRANSIT, None),  # SUCCESSFUL RETURN PICKUP
    "629": (S.ATTEMPT_FAIL, None),  # REDELIVERY ATTEMPT UNSUCCESSFUL
    "630": (S.EXCEPTION, R.ADDRESS_ISSUE),  # UNDELIVERABLE AS ADDRESSED
    "631": (S.EXCEPTION, R.ADDRESS_ISSUE),  # UNDELIVERABLE - INCORRECT ADDRESS
    "632": (S.IN_TRANSIT, None),  # CHANGE OF ADDRESS
    "633": (S.EXCEPTION, R.ADDRESS_ISSUE),  # UNDELIVERABLE - UNIT/SUITE NOT PROVIDED
    "636": (S.EXCEPTION, None),  # UNDELIVERED - PROCESSES FOR LOCAL DISPOSAL
    "637": (S.IN_TRANSIT, None),  # RECEIVED BACK AT DESTINATION DEPOT
    "638": (S.ATTEMPT_FAIL, None),  # 1ST DELIVERY ATTEMPT
    "639": (S.ATTEMPT_FAIL, None),  # 3RD DELIVERY ATTEMPT
    "640": (S.EXCEPTION, R.MISSORT),  # MISSENT
    "641": (S.EXCEPTION, R.MISSORT),  # MISSENT
    "642": (S.IN_TRANSIT, None),  # DELIVERED TO AGENT FOR FINAL DELIVERY
    "644": (S.EXCEPTION, None),  # PARCEL IS HOLD BY DHL
    "650": (S.EXCEPTION, None),  # DEAD LETTER
    "651": (S.EXCEPTION, None),  # UNABLE TO ATTEMPT DELIVERY
    "652": (S.DELIVERED, None),  # DELIVERED AT BACK DOOR
    "653": (S.DELIVERED, None),  # DELIVERED AT BUILDING FOYER/ENTRANCE
    "654": (S.DELIVERED, None),  # DELIVERED AT CAR PORT
    "655": (S.DELIVERED, None),  # DELIVERED AT ENCLOSED PORCH
    "656": (S.DELIVERED, None),  # DELIVERED AT RESIDENTIAL CONCIERGE
    "657": (S.DELIVERED, None),  # DELIVERED AT PARCEL BOX
    "658": (S.DELIVERED, None),  # DELIVERED AT OPEN PORCH
    "659": (S.DELIVERED, None),  # DELIVERED AT SAFE PLACE
    "665": (S.EXCEPTION, None),  # HANDOVER TO SERVICE POINT FAILED
    "670": (S.EXCEPTION, R.MISSORT),  # MIS-SHIPPED
    "671": (S.EXCEPTION, R.MISSORT),  # MIS-SHIPPED
    "680": (S.EXCEPTION, R.NO_SCAN),  # DELIVERY STATUS NOT UPDATED
    "683": (S.EXCEPTION, R.ADDRESS_ISSUE),  # INSUFFICIENT ADDRESS
    "686": (S.EXCEPTION, R.ADDRESS_ISSUE),  # MOVED, LEFT NO ADDRESS
    "689": (S.EXCEPTION, R.ADDRESS_ISSUE),  # ADDRESSEE UNKNOWN
    "690": (S.EXCEPTION, R.LOST),  # PACKAGE REPORTED MISSING
    "691": (S.EXCEPTION, R.ADDRESS_ISSUE),  # VACANT
    "693": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # UNCLAIMED
    "699": (S.EXCEPTION, R.NO_SCAN),  # DELIVERY STATUS NOT UPDATED
    "700": (S.EXCEPTION, R.ADDRESS_ISSUE),  # NO SUCH NUMBER
    "710": (S.EXCEPTION, R.ADDRESS_ISSUE),  # INSUFFICIENT ADDRESS
    "720": (S.EXCEPTION, R.ADDRESS_ISSUE),  # MOVED, LEFT NO ADDRESS
    "730": (S.EXCEPTION, R.ADDRESS_ISSUE),  # FORWARD EXPIRED
    "740": (S.EXCEPTION, R.ADDRESS_ISSUE),  # ADDRESSEE UNKNOWN
    "750": (S.EXCEPTION, R.ADDRESS_ISSUE),  # VACANT
    "760": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # UNCLAIMED
    "770": (S.EXCEPTION, None),  # DECEASED
    "780": (S.EXCEPTION, None),  # ABANDONED
    "800": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN TO SENDER
    "802": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURNED, SERVICE NOT AVAILABLE
    "804": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURNED TO SENDER (NOT PICKED UP)
    "805": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # DEPARTED FROM DEPOT
    "806": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN DISPATCHED TO SERVICE POINT
    "807": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN LABEL PRINTED
    "808": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN INITIATED
    "809": (S.EXCEPTION, None),  # UNDELIVERABLE
    "810": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURNED TO CENTRAL HUB
    "811": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # ENROUTE TO ORIGIN RETURN FACILITY
    "813": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # ARRIVED AT ORIGIN RETURN FACILITY
    "815": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURNS PROCESS STARTED
    "816": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN LOADED IN VEHICLE
    "817": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # DEPARTED RETURN FACILITY
    "818": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN PROCESSED IN FACILITY
    "820": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # OUT FOR RETURN
    "821": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # ATTEMPTED RETURN DELIVERY
    "825": (S.EXCEPTION, None),  # DESTROYED
    "844": (S.EXCEPTION, R.RECIPIENT_UNAVAILABLE),  # UNCONTACTABLE
    "849": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN PARCEL IS HOLD BY DHL
    "853": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN ARRIVED AT SERVICE POINT
    "854": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN PICKED UP
    "855": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN ENCODED
    "856": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN PROCESSED SORT FACILITY
    "857": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN SCANNED INTO SACK/CONTAINER
    "858": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN WAS PROCESSED AT DESTINATION SORTING HUB
    "859": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN DELIVERY RESCHEDULED
    "860": (S.EXCEPTION, R.RETURNED_TO_SENDER),  # RETURNS DELIVERED
    "862": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN ARRIVED AT PICKUP POINT
    "863": (S.EXCEPTION, R.RETURNED_TO_SENDER),  # RETURNED TO CUSTOMER
    "864": (S.EXCEPTION, R.RETURNED_TO_SENDER),  # RETURN HANDED OUT AT SERVICE POINT
    "867": (S.DELIVERED, None),  # PAPER POD HAS BEEN SUCCESSFULLY DELIVERED
    "868": (S.DELIVERED, None),  # PAPER POD RETURN SHIPMENT WAS NOT DELIVERED
    "869": (S.DELIVERED, None),  # PAPER POD RETURN PROCESSED TO FACILITY
    "870": (S.DELIVERED, None),  # PROOF OF DELIVERY DISPATCHED TO HUB
    "871": (S.DELIVERED, None),  # PROOF OF DELIVERY DISPATCHED TO CUSTOMER
    "872": (S.DELIVERED, None),  # PROOF OF DELIVERY DELIVERED TO CUSTOMER
    "880": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN FAILED - INCORRECT ADDRESS
    "881": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN FAILED - CUSTOMER REFUSED SHIPMENT
    "882": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN DELIVERY FAILED
    "883": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN FAILED - NO ACCESS
    "884": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN FAILED - REJECTED
    "885": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN FAILED - SHIPPER MOVED
    "886": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN FAILED - NO ONE HOME
    "887": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # RETURN FAILED - CLOSED ON ARRIVAL
    "99": (S.INFO_RECEIVED, None),  # CUSTOMER ALERT RECEIVED
}

ECOMMERCE_EUROPE: dict[str, tuple[S, R | None]] = {
    "1": (S.INFO_RECEIVED, None),  # Electronical shipment data has been provided to DHL [Pre-trans…
    "2": (S.IN_TRANSIT, None),  # The shipment has been collected [Transit]
    "3": (S.IN_TRANSIT, None),  # The shipment has been dropped off at Parcelshop by sender [Transi…
    "4": (S.IN_TRANSIT, None),  # The shipment has been dropped off at Parcelstation by sender [Tra…
    "5": (S.IN_TRANSIT, None),  # The shipment has been dropped off at Postoffice by sender [Transi…
    "6": (S.IN_TRANSIT, None),  # The shipment has been dropped off at depot by sender [Transit]
    "7": (S.IN_TRANSIT, None),  # The shipment has been dropped off at sorting center by sender [Tr…
    "8": (S.IN_TRANSIT, None),  # The shipment has been dropped off at gateway by sender [Transit]
    "9": (S.IN_TRANSIT, None),  # The shipment has been picked up at sender [Transit]
    "14": (S.IN_TRANSIT, None),  # The shipment has been picked up at Parcelshop by courier [Transi…
    "15": (S.IN_TRANSIT, None),  # The shipment has been picked up at Parcelstation by courier [Tra…
    "16": (S.IN_TRANSIT, None),  # The shipment has been picked up at Access Point by courier [Tran…
    "17": (S.IN_TRANSIT, None),  # The shipment has been picked up at Postoffice by courier [Transi…
    "19": (S.IN_TRANSIT, None),  # The shipment has been processed at terminal [Transit]
    "20": (S.IN_TRANSIT, None),  # The shipment has departed from terminal [Transit]
    "22": (S.IN_TRANSIT, None),  # The shipment has been processed at depot [Transit]
    "23": (S.IN_TRANSIT, None),  # The shipment has left the depot [Transit]
    "25": (S.IN_TRANSIT, None),  # The shipment has been processed at sorting center [Transit]
    "26": (S.IN_TRANSIT, None),  # The shipment has been processed and left the sorting center [Tra…
    "27": (S.IN_TRANSIT, None),  # The shipment has arrived at gateway in origin country [Transit]
    "28": (S.IN_TRANSIT, None),  # The shipment has been processed at gateway in origin country [Tr…
    "29": (S.IN_TRANSIT, None),  # The shipment has left origin country [Transit]
    "30": (S.IN_TRANSIT, None),  # The shipment has arrived in transit country [Transit]
    "31": (S.IN_TRANSIT, None),  # The shipment has been processed in transit country [Transit]
    "32": (S.IN_TRANSIT, None),  # The shipment has left transit country [Transit]
    "33": (S.IN_TRANSIT, None),  # The shipment has arrived in destination country [Transit]
    "37": (S.IN_TRANSIT, None),  # The shipment has arrived at sorting center [Transit]
    "38": (S.IN_TRANSIT, None),  # The shipment has been processed at sorting center [Transit]
    "40": (S.IN_TRANSIT, None),  # The shipment has arrived at depot [Transit]
    "41": (S.IN_TRANSIT, None),  # The shipment has been processed at depot [Transit]
    "42": (S.OUT_FOR_DELIVERY, None),  # The shipment has been loaded to the van [Transit]
    "43": (S.AVAILABLE_FOR_PICKUP, None),  # The shipment has been handed over to the Access Point…
    "44": (S.AVAILABLE_FOR_PICKUP, None),  # The shipment has been handed over to the Parcelshop [D…
    "45": (S.AVAILABLE_FOR_PICKUP, None),  # The shipment has been handed over to the Parcelstation…
    "46": (S.AVAILABLE_FOR_PICKUP, None),  # The shipment has been handed over to the Postoffice [D…
    "47": (S.IN_TRANSIT, None),  # The shipment has been handed over to the depot [Transit]
    "52": (S.IN_TRANSIT, None),  # The recipient has been notified (e.g. via email) about delivery…
    "53": (S.IN_TRANSIT, None),  # The recipient has requested changes to the delivery process [Tra…
    "56": (S.IN_TRANSIT, None),  # The recipient has requested changes to the delivery process [Tra…
    "57": (S.IN_TRANSIT, None),  # The recipient has requested changes to the delivery process [Tra…
    "58": (S.IN_TRANSIT, None),  # The recipient has requested changes to the delivery process [Tra…
    "59": (S.IN_TRANSIT, None),  # The recipient has requested changes to the delivery process [Tra…
    "60": (S.IN_TRANSIT, None),  # The recipient has requested changes to the delivery process [Tra…
    "61": (S.IN_TRANSIT, None),  # The recipient has requested changes to the delivery process [Tra…
    "62": (S.IN_TRANSIT, None),  # The recipient has requested changes to the delivery process [Tra…
    "63": (S.DELIVERED, None),  # The shipment has been successfully delivered [Delivered]
    "64": (S.DELIVERED, None),  # The shipment has been successfully delivered [Delivered]
    "65": (S.DELIVERED, None),  # The shipment has been picked up by the recipient from depot [Deli…
    "66": (S.DELIVERED, None),  # The shipment has been picked up by the recipient from Parcelshop…
    "67": (S.DELIVERED, None),  # The shipment has been picked up by the recipient from Parcelstati…
    "68": (S.DELIVERED, None),  # The shipment has been picked up by the recipient from Postoffice…
    "69": (S.DELIVERED, None),  # The shipment has been successfully delivered [Delivered]
    "70": (S.DELIVERED, None),  # The shipment has been successfully delivered [Delivered]
    "71": (S.DELIVERED, None),  # The shipment has been successfully delivered [Delivered]
    "72": (S.ATTEMPT_FAIL, None),  # The shipment could not be delivered to the recipient [Failure]
    "73": (S.ATTEMPT_FAIL, R.RECIPIENT_UNAVAILABLE),  # The shipment could not be delivered to the…
    "74": (S.ATTEMPT_FAIL, R.RECIPIENT_UNAVAILABLE),  # The shipment could not be delivered to the…
    "75": (S.ATTEMPT_FAIL, R.RECIPIENT_UNAVAILABLE),  # The shipment could not be delivered to the…
    "76": (S.EXCEPTION, R.REFUSED),  # The shipment could not be delivered to the recipient, becaus…
    "77": (S.ATTEMPT_FAIL, R.HELD_FOR_PAYMENT),  # The shipment could not be delivered to the recip…
    "78": (S.ATTEMPT_FAIL, R.HELD_FOR_PAYMENT),  # The shipment could not be delivered to the recip…
    "79": (S.EXCEPTION, R.ADDRESS_ISSUE),  # The shipment could not be delivered to the recipient,…
    "80": (S.EXCEPTION, R.ADDRESS_ISSUE),  # The shipment could not be delivered to the recipient,…
    "81": (S.EXCEPTION, R.ADDRESS_ISSUE),  # The shipment could not be delivered to the recipient,…
    "82": (S.ATTEMPT_FAIL, None),  # The shipment could not be delivered to the recipient, because…
    "83": (S.EXCEPTION, R.DAMAGED),  # During the delivery, the shipment was damaged [Failure]
    "85": (S.ATTEMPT_FAIL, R.RECIPIENT_UNAVAILABLE),  # The shipment could not be delivered to the…
    "86": (S.ATTEMPT_FAIL, R.HELD_FOR_PAYMENT),  # The shipment could not be delivered to the recip…
    "87": (S.EXCEPTION, R.BUSINESS_CLOSED),  # The shipment could not be handed over to the Service…
    "88": (S.EXCEPTION, R.CARRIER_VOLUME),  # The shipment could not be handed over to the Service…
    "89": (S.EXCEPTION, None),  # The shipment could not be handed over to the Service Point becaus…
    "90": (S.EXCEPTION, R.BUSINESS_CLOSED),  # The shipment could not be handed over to the Service…
    "91": (S.EXCEPTION, R.CARRIER_VOLUME),  # The shipment could not be handed over to the Service…
    "92": (S.EXCEPTION, None),  # The shipment could not be handed over to the Service Point becaus…
    "93": (S.EXCEPTION, R.CARRIER_VOLUME),  # The shipment could not be handed over to the Parcel L…
    "94": (S.EXCEPTION, None),  # The shipment could not be handed over to the Parcel Locker becaus…
    "95": (S.EXCEPTION, None),  # The shipment could not be handed over to the Parcel Locker becaus…
    "96": (S.EXCEPTION, R.BUSINESS_CLOSED),  # The shipment could not be handed over to the Post Of…
    "97": (S.EXCEPTION, R.CARRIER_VOLUME),  # The shipment could not be handed over to the Post Off…
    "98": (S.EXCEPTION, None),  # The shipment could not be handed over to the Post Office because…
    "99": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # The shipment has no been picked up by the recipi…
    "100": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # The shipment has no been picked up by the recip…
    "101": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # The shipment has no been picked up by the recip…
    "102": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # The shipment has no been picked up by the recip…
    "130": (S.IN_TRANSIT, None),  # The shipment has been released from export Customs [Transit]
    "133": (S.IN_TRANSIT, None),  # The shipment has been cleared at import Customs in destination…
    "141": (S.ATTEMPT_FAIL, R.RECIPIENT_UNAVAILABLE),  # The shipment has been held until next work…
    "142": (S.IN_TRANSIT, None),  # The shipment has been held because recipient requested later de…
    "149": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # The shipment has been held and will be returned…
    "151": (S.EXCEPTION, R.REFUSED),  # The shipment has been stopped without delivery attempt beca…
    "152": (S.EXCEPTION, R.CUSTOMS),  # The import of the shipment has been terminated. The shipmen…
    "154": (S.ATTEMPT_FAIL, None),  # The delivery of the shipment failed [Transit]
    "155": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # The shipment has not been picked up within the…
    "156": (S.EXCEPTION, None),  # The shipment could not be delivered because of an exceptional ev…
    "157": (S.EXCEPTION, R.ADDRESS_ISSUE),  # The shipment could not be delivered because recipient…
    "159": (S.IN_TRANSIT, None),  # The shipment could not be delivered because recipient requested…
    "160": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # The shipment could not be delivered and will be…
    "161": (S.ATTEMPT_FAIL, None),  # The shipment could not be delivered [Transit]
    "172": (S.IN_TRANSIT, None),  # The shipment has been held because recipient requested later de…
    "194": (S.IN_TRANSIT, None),  # Shipment has been held according to recipient's request [Transi…
    "200": (S.EXCEPTION, None),  # The shipment could not be handed over to the Service Point becau…
    "206": (S.EXCEPTION, R.ADDRESS_ISSUE),  # The shipment could not be delivered to the recipient,…
    "207": (S.EXCEPTION, R.REFUSED),  # Recipient has refused the shipment [Failure]
    "208": (S.EXCEPTION, R.REFUSED),  # Recipient has refused the shipment during collection [Failu…
    "209": (S.EXCEPTION, R.REFUSED),  # Recipient has refused the shipment during collection [Failu…
    "210": (S.EXCEPTION, R.REFUSED),  # The shipment could not be delivered, because the recipient…
    "211": (S.EXCEPTION, R.REFUSED),  # The shipment could not be delivered, because the recipient…
    "214": (S.EXCEPTION, R.HELD_FOR_PAYMENT),  # The shipment could not be handed over because paym…
    "215": (S.EXCEPTION, R.HELD_FOR_PAYMENT),  # The shipment could not be handed over because paym…
    "217": (S.ATTEMPT_FAIL, None),  # The shipment could not be delivered and is scheduled for furt…
    "218": (S.IN_TRANSIT, None),  # The shipment could not be delivered because recipient requested…
    "219": (S.IN_TRANSIT, None),  # The shipment could not be delivered and is being held because r…
    "222": (S.EXCEPTION, None),  # The shipment could not be delivered due recipient's request [Fai…
    "223": (S.EXCEPTION, None),  # The shipment could not be delivered due recipient's request [Fai…
    "226": (S.IN_TRANSIT, None),  # The shipment has been collected [Transit]
    "228": (S.IN_TRANSIT, None),  # The shipment has been picked up at access point by courier [Tra…
    "230": (S.IN_TRANSIT, None),  # The shipment has been processed at terminal in origin country […
    "231": (S.IN_TRANSIT, None),  # The shipment has departed from terminal [Transit]
    "232": (S.IN_TRANSIT, None),  # The shipment has been processed in transit country [Transit]
    "233": (S.IN_TRANSIT, None),  # The shipment has been processed at terminal in destination coun…
    "234": (S.IN_TRANSIT, None),  # The shipment has arrived at gateway in origin country [Transit]
    "235": (S.IN_TRANSIT, None),  # The shipment has left origin country [Transit]
    "236": (S.IN_TRANSIT, None),  # The shipment has arrived in transit country [Transit]
    "237": (S.IN_TRANSIT, None),  # The shipment has left transit country [Transit]
    "238": (S.IN_TRANSIT, None),  # The shipment has arrived in destination country [Transit]
    "240": (S.IN_TRANSIT, None),  # The shipment has arrived at sorting center [Transit]
    "242": (S.IN_TRANSIT, None),  # The shipment has arrived at depot [Transit]
    "248": (S.EXCEPTION, None),  # The shipment is undeliverable and will be returned to destinatio…
    "249": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # The shipment is undeliverable and will be retur…
    "253": (S.ATTEMPT_FAIL, None),  # The shipment couldn´t be delivered because of an exceptional…
    "254": (S.INFO_RECEIVED, None),  # The shipment has left the customer facility [Pre-transit]
    "255": (S.IN_TRANSIT, None),  # The shipment was pre-sorted by 3rd party provider [Transit]
    "258": (S.INFO_RECEIVED, None),  # The shipment was presented to import customs by 3rd party pr…
    "259": (S.EXCEPTION, R.INCORRECT_DOCUMENTS),  # The shipment has been held because of missing o…
    "264": (S.EXCEPTION, R.WEATHER),  # The shipment could not be delivered because of bad weather…
    "265": (S.EXCEPTION, R.CARRIER_VOLUME),  # The shipment could not be delivered because of capac…
    "266": (S.EXCEPTION, R.WEATHER),  # The shipment has been held for bad weather conditions. Furt…
    "267": (S.EXCEPTION, R.CARRIER_VOLUME),  # The shipment has been held for capacity issues. Furt…
    "268": (S.EXCEPTION, R.HELD_FOR_PAYMENT),  # The shipment has been held and is awaiting payment…
    "269": (S.EXCEPTION, None),  # The shipment has been held. Further processing expected next wor…
    "302": (S.IN_TRANSIT, None),  # The shipment has been handed over for final delivery [Delivered]
    "306": (S.DELIVERED, R.DAMAGED),  # Packaging of parcel was torn. Parcel has been successfully…
    "330": (S.ATTEMPT_FAIL, None),  # The shipment could not be delivered to the recipient, because…
    "354": (S.IN_TRANSIT, None),  # The shipment has been processed at terminal [Transit]
    "355": (S.IN_TRANSIT, None),  # The shipment has been processed in transit country [Transit]
    "356": (S.IN_TRANSIT, None),  # The shipment has been processed at terminal in destination coun…
    "358": (S.IN_TRANSIT, None),  # The shipment has been identified as oversized [Transit]
    "363": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # The shipment is handled by a return consolidato…
    "364": (S.IN_TRANSIT, None),  # The shipment is assigned to a transport container [Transit]
    "365": (S.EXCEPTION, R.RETURNING_TO_SENDER),  # The shipment was assigned to a transport contai…
    "366": (S.EXCEPTION, R.RETURNED_TO_SENDER),  # The shipment has been delivered back to the busi…
    "367": (S.INFO_RECEIVED, None),  # The shipment was pre-sorted by 3rd party provider [Pre-trans…
    "368": (S.INFO_RECEIVED, None),  # The shipment was presented to export customs by 3rd party pr…
    "369": (S.INFO_RECEIVED, None),  # The shipment was handed over to transport provider [Pre-tran…
    "370": (S.INFO_RECEIVED, None),  # The shipment was presented to import customs by 3rd party pr…
    "372": (S.ATTEMPT_FAIL, R.RECIPIENT_UNAVAILABLE),  # The shipment could not be delivered to the…
    "377": (S.IN_TRANSIT, None),  # The shipment has been processed in transit country [Transit]
    "378": (S.IN_TRANSIT, None),  # The shipment has been processed in transit country [Transit]
    "379": (S.IN_TRANSIT, None),  # The shipment has been processed in transit country [Transit]
    "380": (S.IN_TRANSIT, None),  # The shipment has been processed according to the business custo…
    "392": (S.EXCEPTION, None),  # The shipment could not be picked up due to a malfuntion of the L…
    "395": (S.EXCEPTION, R.BUSINESS_CLOSED),  # The shipment couldn´t be handed over to the Service…
}

ECOMMERCE_PPL: dict[str, tuple[S, R | None]] = {
    "150": (S.IN_TRANSIT, None),  # We received the parcel from the sender
    "300": (S.IN_TRANSIT, None),  # The parcel is located at the delivery depot
    "343": (S.AVAILABLE_FOR_PICKUP, None),  # Package is ready in pickup point
    "400": (S.IN_TRANSIT, None),  # The parcel is ready for delivery
    "450": (S.DELIVERED, None),  # The parcel is delivered
    "460": (S.IN_TRANSIT, None),  # The parcel will be delivered on another day
    "464": (S.EXCEPTION, R.REFUSED),  # The recipient refused to accept the parcel
    "500": (S.IN_TRANSIT, None),  # The parcel is on the way to the delivery depot
    "900": (S.INFO_RECEIVED, None),  # Electronic data received
    "997": (S.EXCEPTION, R.LOST),  # Undelivered - Shipment lost
    "999": (S.EXCEPTION, R.CANCELLED),  # Cancellation confirmed by sender - data only
}

# Legacy Global Mail XML codes whose text differs from the current list (observed wording).
ECOMMERCE_LEGACY_OBSERVED: dict[str, tuple[S, R | None]] = {
    "99": (S.INFO_RECEIVED, None),  # ELECTRONIC NOTIFICATION RECEIVED: ... PROCESSED
    "220": (S.IN_TRANSIT, None),  # PROCESSED
    "300": (S.IN_TRANSIT, None),  # DEPARTURE DHL DISTRIBUTION CENTER
    "350": (S.IN_TRANSIT, None),  # ARRIVAL DESTINATION DHL DISTRIBUTION CENTER
    "400": (S.IN_TRANSIT, None),  # TENDERED TO USPS
}

ECOMMERCE_DEPARTURES = frozenset(
    {
        "110",  # SHIPMENT DEPARTED SELLERS ORIGIN TERMINAL
        "113",  # PARTNER EVENT - DEPARTED PARTNER FACILITY
        "114",  # PACKAGE DEPARTED SCREENING FACILITY
        "120",  # DEPARTURE DHL DISTRIBUTION CENTER
        "399",  # DEPARTED FROM FACILITY
        "456",  # SHIPMENT DEPARTED SELLER ORIGINAL TERMINAL – PARTNER
        "464",  # PARTNER EVENT - DEPARTED CUSTOMS FACILITY
        "481",  # DEPARTED TERMINAL LOCATION
        "482",  # DEPARTED FROM FACILITY
        "518",  # DEPARTED FROM EXPORT FACILITY
        "531",  # DEPARTED TERMINAL LOCATION
        "538",  # DEPART USPS SORT FACILITY
        "568",  # DEPARTED FROM TRANSIT FACILITY
        "577",  # DEPARTED FROM LOCAL DISTRIBUTION CENTER
        "805",  # DEPARTED FROM DEPOT (return leg)
        "817",  # DEPARTED RETURN FACILITY (return leg)
    }
)
ECOMMERCE_EUROPE_DEPARTURES = frozenset(
    {
        "20",  # The shipment has departed from terminal
        "23",  # The shipment has left the depot
        "26",  # The shipment has been processed and left the sorting center
        "29",  # The shipment has left origin country
        "32",  # The shipment has left transit country
        "231",  # The shipment has departed from terminal
        "235",  # The shipment has left origin country
        "237",  # The shipment has left transit country
        "254",  # The shipment has left the customer facility
    }
)
ECOMMERCE_LEGACY_OBSERVED_DEPARTURES = frozenset(
    {
        "300",  # DEPARTURE DHL DISTRIBUTION CENTER
    }
)
