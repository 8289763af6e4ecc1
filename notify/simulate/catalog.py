"""What the simulated shop sells and how it ships: carriers, services, scan kinds, products.

Service names are the carriers' own. Each service has a delivery calendar (numpy weekmask
Monday..Sunday plus which US federal holidays it observes), a transit tier that turns the
lane's ground distance into nominal business days, and, for express services, the time
window the carrier states as its ETA. Scan kinds map onto our taxonomy
(:class:`carriers.taxonomy.Status` / :class:`Reason`) and each carrier words them its own way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from carriers.taxonomy import Reason, Status

CARRIERS: tuple[str, ...] = ("fedex", "ups", "usps", "dhl")
# Share of domestic parcels per carrier (DHL carries only the international ones).
DOMESTIC_CARRIER_SHARE: dict[str, float] = {"fedex": 0.36, "ups": 0.36, "usps": 0.28}

# Holidays observed by the private carriers and the warehouses; USPS observes all federal ones.
MAJOR_HOLIDAYS: tuple[str, ...] = (
    "New Year's Day", "Memorial Day", "Independence Day", "Labor Day", "Thanksgiving",
    "Christmas Day",
)  # fmt: skip


@dataclass(frozen=True)
class Service:
    carrier: str
    name: str
    tier: str  # ground | priority | two_day | overnight | express | international
    weekmask: str  # days the service moves and delivers, Monday first
    all_holidays: bool  # every US federal holiday off (USPS); else only MAJOR_HOLIDAYS
    share: float  # share within its carrier
    code: str  # UPS service code or USPS service type code in the tracking number
    window: tuple[int, int] | None = None  # stated ETA window, local minutes of the day
    min_days: int = 1  # fewest nominal transit days

    @property
    def express(self) -> bool:
        return self.tier in ("overnight", "express", "international")


SERVICES: tuple[Service, ...] = (
    Service("fedex", "FedEx Ground", "ground", "1111100", False, 0.35, ""),
    Service("fedex", "FedEx Home Delivery", "ground", "0111110", False, 0.40, ""),
    Service("fedex", "FedEx 2Day", "two_day", "1111100", False, 0.15, ""),
    Service("fedex", "FedEx Priority Overnight", "overnight", "1111100", False, 0.10, "",
            (8 * 60, 10 * 60 + 30)),
    Service("ups", "UPS Ground", "ground", "1111100", False, 0.78, "03"),
    Service("ups", "UPS 2nd Day Air", "two_day", "1111100", False, 0.14, "02"),
    Service("ups", "UPS Next Day Air", "overnight", "1111100", False, 0.08, "01",
            (8 * 60, 10 * 60 + 30)),
    Service("usps", "USPS Ground Advantage", "ground", "1111110", True, 0.68, "001",
            min_days=2),
    Service("usps", "Priority Mail", "priority", "1111110", True, 0.26, "055"),
    Service("usps", "Priority Mail Express", "express", "1111110", True, 0.06, "701",
            (8 * 60, 18 * 60)),
    Service("dhl", "DHL Express Worldwide", "international", "1111100", False, 1.0, "",
            (9 * 60, 18 * 60)),
)  # fmt: skip
SERVICE_NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)
SERVICE_CARRIER: tuple[int, ...] = tuple(CARRIERS.index(s.carrier) for s in SERVICES)


class Scan(IntEnum):
    """The kinds of tracking scan the simulator writes."""

    LABEL = 0
    PICKUP = 1
    HUB_ARRIVAL = 2
    HUB_DEPARTURE = 3
    CUSTOMS_CLEARED = 4
    DEST_ARRIVAL = 5
    OUT_FOR_DELIVERY = 6
    DELIVERED = 7
    WEATHER = 8
    TRANSPORT_DELAY = 9
    DAMAGED = 10
    CUSTOMS_HOLD = 11
    ADDRESS_ISSUE = 12
    ATTEMPT_FAILED = 13
    RETURNING = 14
    RETURN_TRANSIT = 15


SCAN_TAXONOMY: dict[Scan, tuple[Status, Reason | None]] = {
    Scan.LABEL: (Status.INFO_RECEIVED, None),
    Scan.PICKUP: (Status.IN_TRANSIT, None),
    Scan.HUB_ARRIVAL: (Status.IN_TRANSIT, None),
    Scan.HUB_DEPARTURE: (Status.IN_TRANSIT, None),
    Scan.CUSTOMS_CLEARED: (Status.IN_TRANSIT, None),
    Scan.DEST_ARRIVAL: (Status.IN_TRANSIT, None),
    Scan.OUT_FOR_DELIVERY: (Status.OUT_FOR_DELIVERY, None),
    Scan.DELIVERED: (Status.DELIVERED, None),
    Scan.WEATHER: (Status.EXCEPTION, Reason.WEATHER),
    Scan.TRANSPORT_DELAY: (Status.EXCEPTION, Reason.TRANSPORT_DELAY),
    Scan.DAMAGED: (Status.EXCEPTION, Reason.DAMAGED),
    Scan.CUSTOMS_HOLD: (Status.EXCEPTION, Reason.CUSTOMS),
    Scan.ADDRESS_ISSUE: (Status.EXCEPTION, Reason.ADDRESS_ISSUE),
    Scan.ATTEMPT_FAILED: (Status.ATTEMPT_FAIL, Reason.RECIPIENT_UNAVAILABLE),
    Scan.RETURNING: (Status.EXCEPTION, Reason.RETURNING_TO_SENDER),
    Scan.RETURN_TRANSIT: (Status.IN_TRANSIT, Reason.RETURNING_TO_SENDER),
}

# Scan descriptions per carrier, in the order of Scan.
DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "fedex": (
        "Shipment information sent to FedEx",
        "Picked up",
        "Arrived at FedEx hub",
        "Departed FedEx hub",
        "International shipment release - Import",
        "At local FedEx facility",
        "On FedEx vehicle for delivery",
        "Delivered",
        "Delay: Local weather conditions have delayed delivery",
        "Delay: Shipment delayed in transit, beyond our control",
        "Shipment exception: Package damaged, repackaged for delivery",
        "Clearance delay - Import",
        "Delivery exception: Incorrect address",
        "Delivery attempted: Recipient not available",
        "Delivery exception: Returning package to shipper",
        "In transit: Returning to shipper",
    ),
    "ups": (
        "Shipper created a label, UPS has not received the package yet.",
        "Pickup Scan",
        "Arrived at Facility",
        "Departed from Facility",
        "Import Scan",
        "Processing at UPS Facility",
        "Out For Delivery Today",
        "DELIVERED",
        "Severe weather conditions have delayed delivery.",
        "A mechanical failure has caused a delay. We're adjusting plans to deliver your "
        "package as quickly as possible.",
        "Damage reported. The package is being repackaged.",
        "The package is in a clearance delay.",
        "The address is incomplete. We're attempting to obtain the correct address.",
        "The receiver was not available for delivery. We'll make a second attempt the next "
        "business day.",
        "The package will be returned to the sender.",
        "Returning to Sender: In Transit",
    ),
    "usps": (
        "Shipping Label Created, USPS Awaiting Item",
        "USPS picked up item",
        "Arrived at USPS Regional Facility",
        "Departed USPS Regional Facility",
        "Processed Through Facility, Cleared Customs",
        "Arrived at Post Office",
        "Out for Delivery",
        "Delivered, Front Door/Porch",
        "Weather Delay: severe weather has delayed this item",
        "Delayed, Arriving Late: transportation delay",
        "Damaged Item, Repackaged",
        "Held in Customs",
        "Insufficient Address",
        "Notice Left (No Authorized Recipient Available)",
        "Return to Sender",
        "In Transit to Sender",
    ),
    "dhl": (
        "Shipment information received",
        "Shipment picked up",
        "Arrived at DHL Sort Facility",
        "Departed Facility",
        "Clearance processing complete",
        "Arrived at DHL Delivery Facility",
        "Shipment is out with courier for delivery",
        "Delivered",
        "Shipment delayed due to adverse weather conditions",
        "Scheduled flight movement delayed",
        "Shipment damaged, repackaged",
        "Clearance delay - shipment on hold",
        "Incorrect delivery address, please contact DHL",
        "Recipient not available, delivery rescheduled",
        "Shipment is being returned to shipper",
        "Shipment in transit back to shipper",
    ),
}

# (sku, title): titles are the shop's own, some with commas, quotes and accents.
PRODUCTS: tuple[tuple[str, str], ...] = (
    ("SKU-10001", "Wireless Earbuds"),
    ("SKU-10002", "Noise-Cancelling Headphones"),
    ("SKU-10003", "Café Espresso Cups, Set of 4"),
    ("SKU-10004", '12" Cast Iron Skillet'),
    ("SKU-10005", "Linen Duvet Cover, Queen"),
    ("SKU-10006", "Crème Brûlée Torch"),
    ("SKU-10007", "Jalapeño Hot Sauce Trio"),
    ("SKU-10008", "Trail Running Shoes"),
    ("SKU-10009", "Merino Wool Socks (3 pairs)"),
    ("SKU-10010", "Ergonomic Office Chair"),
    ("SKU-10011", "Standing Desk Converter"),
    ("SKU-10012", "Stainless Water Bottle 750 ml"),
    ("SKU-10013", "LED Desk Lamp"),
    ("SKU-10014", "Yoga Mat"),
    ("SKU-10015", "Bluetooth Speaker"),
    ("SKU-10016", "Smart Thermostat"),
    ("SKU-10017", "Kids' Puzzle — 500 pieces"),
    ("SKU-10018", "Ceramic Plant Pot"),
    ("SKU-10019", "Backpack, 28 L"),
    ("SKU-10020", "Phone Case"),
    ("SKU-10021", "USB-C Charger 65 W"),
    ("SKU-10022", "Pour-Over Coffee Kettle"),
    ("SKU-10023", "Scented Candle «Fig & Cedar»"),
    ("SKU-10024", "Rain Jacket"),
    ("SKU-10025", "Kitchen Scale"),
    ("SKU-10026", "Board Game: Über Quest"),
    ("SKU-10027", "Dog Bed, Large"),
    ("SKU-10028", "Electric Toothbrush"),
    ("SKU-10029", "Hiking Poles (pair)"),
    ("SKU-10030", "Wool Throw Blanket"),
)
