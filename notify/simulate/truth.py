"""Ground truth per shipment row, and helpers to read a generated world back.

For each (order, parcel) row: the lane and hubs, the promise, when it was delivered, whether
it is late against the promise (delivered, or the end of the span if not delivered, after
the end of the promised day in the customer's zone), the cause (the carrier event behind
it), when tracking first showed the delay (a scan with an exception, failed attempt or delay
reason, or an ETA statement past the promise or withdrawing the ETA) and whether that came
before delivery, which is when telling the customer helps. ``carrier_event`` names what
happened to the parcel even when it still arrived in time. ``outcome_known`` is false for a
parcel not delivered by the end of the span whose promised day ends after it: whether it
is late is not known (it is then neither "delayed" nor on time; scoring leaves it out).

Formats: ``lane`` is "origin region->destination region" (e.g. "great_lakes->plains");
``hub`` lists the hub codes the parcel is routed through, in order, joined by ">" (e.g.
"ORD>MEM>DFW"; see world.json "hubs"); times are ISO 8601 in the customer's zone (shipped_at
in the warehouse's); booleans are "true"/"false"; cause and carrier_event are Reason values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from notify.simulate.clock import NEVER, date_text
from notify.simulate.context import Context
from notify.simulate.orders import Parcels
from notify.simulate.timeline import WITHDRAWN, Track

Arr = NDArray[Any]
TRUTH_COLUMNS = (
    "shipment_id", "order_id", "customer_id", "tracking_number", "carrier", "service", "lane",
    "promised_by", "shipped_at", "delivered_at", "delayed", "cause", "evidence_at",
    "customer_relevant", "hub", "carrier_event", "outcome_known",
)  # fmt: skip
INCIDENT_COLUMNS = ("incident_id", "hub", "cause", "starts_at", "ends_at", "region")


def eta_evidence(t: Track, parcel: Arr, promise: Arr, ctx: Context) -> Arr:
    """Per shipment row: first ETA statement after the promised day or withdrawing the ETA."""
    at = t.eta_at[parcel]
    day = t.eta_day[parcel]
    shows = (at <= ctx.end) & ((day == WITHDRAWN) | (day > promise[:, None]))
    return np.where(shows, at, NEVER).min(axis=1)


def lanes(p: Parcels, ctx: Context) -> tuple[Arr, Arr]:
    """Per parcel: "origin region->destination region" and its hubs joined by ">"."""
    lane = ctx.lane_text[p.warehouse, ctx.places.area[p.dest]]
    return lane, ctx.route_text[p.service, p.warehouse, p.dest]


def verdicts(t: Track, parcel: Arr, promise: Arr, scan_first: Arr, ctx: Context) -> dict[str, Arr]:
    """delayed, evidence and customer relevance per shipment row (instants, NEVER = none)."""
    zone = t.dzone[parcel]
    deadline = ctx.clock.at(zone, promise + 1, 0)
    delivered = np.where(t.delivered[parcel] <= ctx.end, t.delivered[parcel], NEVER)
    outcome = np.where(delivered < NEVER, delivered, ctx.end)
    delayed = outcome >= deadline
    known = (delivered < NEVER) | delayed  # undelivered at the end, promise still ahead: open
    evidence = np.minimum(scan_first[parcel], eta_evidence(t, parcel, promise, ctx))
    evidence = np.where(delayed, evidence, NEVER)
    relevant = delayed & (evidence < NEVER) & (evidence < delivered)
    return {
        "delivered": delivered,
        "delayed": delayed,
        "evidence": evidence,
        "relevant": relevant,
        "known": known,
    }


def truth_columns(
    base: dict[str, Arr],
    t: Track,
    parcel: Arr,
    promise: Arr,
    events: Arr,
    scan_first: Arr,
    ctx: Context,
) -> dict[str, Arr]:
    """truth/shipments.csv columns; ``base`` holds the id, carrier and time columns."""
    v = verdicts(t, parcel, promise, scan_first, ctx)
    zone = t.dzone[parcel]
    cause = np.where(v["delayed"], events[parcel], "")
    cause = np.where(v["delayed"] & (cause == ""), "unknown", cause)
    return {
        **base,
        "promised_by": date_text(promise).astype(object),
        "delivered_at": ctx.clock.iso(zone, v["delivered"]).astype(object),
        "delayed": np.where(v["delayed"], "true", "false"),
        "cause": cause,
        "evidence_at": ctx.clock.iso(zone, v["evidence"]).astype(object),
        "customer_relevant": np.where(v["relevant"], "true", "false"),
        "carrier_event": events[parcel],
        "outcome_known": np.where(v["known"], "true", "false"),
    }


def load_truth(world: Path | str) -> pd.DataFrame:
    """truth/shipments.csv with ids as strings, booleans as bool and times as UTC timestamps."""
    frame = pd.read_csv(Path(world) / "truth" / "shipments.csv", dtype=str, keep_default_na=False)
    if "outcome_known" not in frame:  # a world written before the column existed
        frame["outcome_known"] = "true"
    for column in ("delayed", "customer_relevant", "outcome_known"):
        frame[column] = frame[column] == "true"
    for column in ("shipped_at", "delivered_at", "evidence_at"):
        frame[column] = pd.to_datetime(frame[column].replace("", None), utc=True, format="ISO8601")
    return frame


def load_incidents(world: Path | str) -> pd.DataFrame:
    frame = pd.read_csv(Path(world) / "truth" / "incidents.csv", dtype=str, keep_default_na=False)
    for column in ("starts_at", "ends_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def load_meta(world: Path | str) -> dict[str, Any]:
    """world.json as a dict."""
    meta: dict[str, Any] = json.loads((Path(world) / "world.json").read_text("utf-8"))
    return meta
