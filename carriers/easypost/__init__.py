"""EasyPost (aggregator): trackers, tracker lists and tracker webhook Events.

Results name the carrier that moves the parcel (``Tracker.carrier``), not EasyPost.
Webhook signatures are checked by :mod:`carriers.easypost.webhook`.
"""

from carriers.easypost.client import make_client
from carriers.easypost.parse import parse, sniff
from carriers.easypost.sandbox import SANDBOX
from carriers.registry import CarrierSpec

CARRIER = CarrierSpec(
    name="easypost",
    title="EasyPost",
    parse=parse,
    sniff=sniff,
    make_client=make_client,
    sandbox=SANDBOX,
    default_base_url="https://api.easypost.com",
)
