"""AfterShip (aggregator): trackings (API v4 and the dated versions) and tracking webhooks.

Results name the carrier that moves the parcel (the courier ``slug``), not AfterShip.
Webhook signatures are checked by :mod:`carriers.aftership.webhook`.
"""

from carriers.aftership.client import make_client
from carriers.aftership.parse import parse, sniff
from carriers.aftership.sandbox import SANDBOX
from carriers.registry import CarrierSpec

CARRIER = CarrierSpec(
    name="aftership",
    title="AfterShip",
    parse=parse,
    sniff=sniff,
    make_client=make_client,
    sandbox=SANDBOX,
    default_base_url="https://api.aftership.com",
)
