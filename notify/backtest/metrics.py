"""Score a replay against the world's ground truth.

Samples are (run, parcel in an open delay episode) pairs. Truth is per parcel: the row of
``truth/shipments.csv`` with the earliest promise (the promise the ETA stage compares with).

ETA accuracy counts samples of parcels that were delivered and for which a window was
stated: inside = the delivery day (destination zone) lies in [earliest, latest]. Window
width is counted in the service's business days from earliest to latest (0 = one day).
The carrier's own newest statement and a naive "promise + N business days" day are scored
on the same samples, side by side; a missing or withdrawn carrier ETA counts as no answer.

Detection: a parcel is *told it is late* at a run when its delay probability is at least
the rules' ``notify_min_p_late`` (the promise having passed makes it 1). Precision is the
share of parcels ever told that truth marks delayed (among those whose outcome the world
settles: delivered, or promised before its end); recall is the share of
customer-relevant delays told before delivery, among those with a run between the first
evidence and the delivery (a run can only tell what exists by then). The same is shown for
the rule "any open episode whose window is unknown or ends after the promise".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from notify import calendars
from notify.rules import DetectionRules
from notify.simulate.truth import load_meta, load_truth


def parcel_truth(world: Path) -> pd.DataFrame:
    """One truth row per tracking number: the row with the earliest promise."""
    truth = load_truth(world)
    truth = truth.sort_values(["tracking_number", "promised_by"])
    first = truth.drop_duplicates(["carrier", "tracking_number"]).copy()
    zones = pd.read_csv(Path(world) / "orders" / "customers.csv", dtype=str,
                        keep_default_na=False)[["customer_id", "timezone"]]  # fmt: skip
    first = first.merge(zones, on="customer_id", how="left")
    orders = pd.read_csv(Path(world) / "orders" / "orders.csv", dtype=str, keep_default_na=False)
    status = truth[["carrier", "tracking_number", "order_id"]].merge(
        orders[["order_id", "status"]], on="order_id", how="left"
    )
    open_keys = status[status["status"].isin(["open", "delivered"])]
    scoped = set(zip(open_keys["carrier"], open_keys["tracking_number"], strict=True))
    first["in_scope"] = [
        (c, n) in scoped for c, n in zip(first["carrier"], first["tracking_number"], strict=True)
    ]
    end = pd.Timestamp(load_meta(world)["end"])
    deadline = pd.to_datetime([f"{p}T23:59:59" for p in first["promised_by"]], format="ISO8601")
    ends = [
        d.tz_localize(z).tz_convert("UTC") for d, z in zip(deadline, first["timezone"], strict=True)
    ]
    first["deadline"] = ends
    settled = np.array([d <= end for d in ends], dtype=bool)
    first["resolved"] = first["delivered_at"].notna().to_numpy() | settled
    first["delivered_day"] = [
        at.tz_convert(zone).date().isoformat() if pd.notna(at) else None
        for at, zone in zip(first["delivered_at"], first["timezone"], strict=True)
    ]
    return first.set_index(["carrier", "tracking_number"])


def _day_column(values: pd.Series) -> pd.Series:
    return values.where(values.notna(), None).map(lambda v: v[:10] if isinstance(v, str) else None)


def _span(row: Any, rules: DetectionRules, earliest: str, latest: str) -> float:
    a, b = row[earliest], row[latest]
    if not isinstance(a, str) or not isinstance(b, str):
        return float("nan")
    spec = rules.calendar(row["carrier"], row["service"])
    return float(calendars.offset(pd.Timestamp(a).date(), pd.Timestamp(b).date(), spec))


def enrich(
    samples: pd.DataFrame, truth: pd.DataFrame, rules: DetectionRules, naive_days: int
) -> pd.DataFrame:
    """Samples joined with truth, with the three answers (model, carrier, naive) as days."""
    s = samples.join(truth, on=["carrier", "tracking_number"], how="left", rsuffix="_truth")
    s["carrier_earliest"] = _day_column(s["carrier_earliest"])
    s["carrier_latest"] = _day_column(s["carrier_latest"])
    naive: list[str | None] = []
    for promised, carrier, service in zip(
        s["promised_day"], s["carrier"], s["service"], strict=True
    ):
        if not isinstance(promised, str):
            naive.append(None)
            continue
        spec = rules.calendar(carrier, service)
        day = calendars.add_days(pd.Timestamp(promised).date(), naive_days, spec)
        naive.append(day.isoformat())
    s["naive_day"] = naive
    s["model_span"] = [_span(r, rules, "earliest", "latest") for r in s.to_dict("records")]
    s["carrier_span"] = [
        _span(r, rules, "carrier_earliest", "carrier_latest") for r in s.to_dict("records")
    ]
    d = s["delivered_day"]
    s["model_in"] = (s["earliest"] <= d) & (d <= s["latest"])
    s["carrier_in"] = (s["carrier_earliest"] <= d) & (d <= s["carrier_latest"])
    s["naive_in"] = s["naive_day"] == d
    s["model_point"] = s["most_likely"] == d
    s["carrier_point"] = s["carrier_earliest"] == d
    return s


@dataclass
class Accuracy:
    samples: int
    stated: int
    coverage: float
    stated_confidence: float
    median_span: float
    unknown_share: float
    carrier_answered: int
    carrier_coverage: float
    naive_coverage: float
    model_point: float
    carrier_point: float


def accuracy(s: pd.DataFrame) -> Accuracy:
    """ETA accuracy over samples of delivered parcels."""
    done = s[s["delivered_day"].notna()]
    told = done[done["earliest"].notna()]
    carrier = done[done["carrier_earliest"].notna()]
    conf = told["confidence"].dropna()
    return Accuracy(
        samples=len(done),
        stated=len(told),
        coverage=float(told["model_in"].mean()) if len(told) else float("nan"),
        stated_confidence=float(conf.mean()) if len(conf) else float("nan"),
        median_span=float(told["model_span"].median()) if len(told) else float("nan"),
        unknown_share=float(1 - len(told) / len(done)) if len(done) else float("nan"),
        carrier_answered=len(carrier),
        carrier_coverage=float(carrier["carrier_in"].mean()) if len(carrier) else float("nan"),
        naive_coverage=float(done["naive_in"].mean()) if len(done) else float("nan"),
        model_point=float(told["model_point"].mean()) if len(told) else float("nan"),
        carrier_point=float(carrier["carrier_point"].mean()) if len(carrier) else float("nan"),
    )


def told_late(s: pd.DataFrame, rules: DetectionRules) -> pd.Series:
    """At each run: would the customer be told the parcel is late (delay probability)?"""
    return s["p_late"].fillna(0.0) >= rules.eta.notify_min_p_late


def told_by_window(s: pd.DataFrame, rules: DetectionRules) -> pd.Series:
    """The window rule: unknown ETA, a window ending after the promise, or a grave cause."""
    grave = s["cause"].isin({c.value for c in rules.always_notify_causes})
    after = s["latest"].notna() & (s["latest"] > s["promised_day"].fillna("9999"))
    return s["earliest"].isna() | after | grave


@dataclass
class Detection:
    told: int
    true_positive: int
    precision: float
    relevant: int
    observable: int
    recalled: int
    recall: float
    precision_vs_relevant: float
    told_before_promise: float  # share of the recalled told before the promised day ended
    median_hours_before_delivery: float
    false_positives: list[str]
    missed: list[str]


def detection(
    s: pd.DataFrame, truth: pd.DataFrame, runs: list[pd.Timestamp], flag: pd.Series
) -> Detection:
    """Precision against ``delayed`` and recall of ``customer_relevant`` delays."""
    told = s[flag]
    first_told = told.groupby(["carrier", "tracking_number"])["as_of"].min()
    keys = set(first_told.index)
    t = truth.loc[truth.index.isin(keys) & truth["resolved"]]
    tp = int(t["delayed"].sum())
    relevant = truth[truth["customer_relevant"] & truth["in_scope"]]
    grid = pd.Series(sorted(runs))
    end = relevant["delivered_at"].fillna(pd.Timestamp.max.tz_localize("UTC"))
    lo = np.searchsorted(
        grid.values, relevant["evidence_at"].values.astype("datetime64[ns]"), "left"
    )
    hi = np.searchsorted(grid.values, end.values.astype("datetime64[ns]"), "left")
    observable = relevant[hi > lo]
    told_before = [
        key in first_told.index
        and first_told[key]
        < (row.delivered_at if pd.notna(row.delivered_at) else pd.Timestamp.max.tz_localize("UTC"))
        for key, row in observable.iterrows()
    ]
    recalled = int(np.sum(told_before))
    hits = observable[np.array(told_before, dtype=bool)]
    when = first_told.reindex(hits.index)
    early = float((when < hits["deadline"]).mean()) if len(hits) else float("nan")
    lead = (hits["delivered_at"] - when).dt.total_seconds() / 3600
    missed = [
        f"{k[0]}:{k[1]}" for k, hit in zip(observable.index, told_before, strict=True) if not hit
    ]
    fp = [f"{k[0]}:{k[1]}" for k in t.index[~t["delayed"]]]
    return Detection(
        told=len(t),
        true_positive=tp,
        precision=tp / len(t) if len(t) else float("nan"),
        relevant=len(relevant),
        observable=len(observable),
        recalled=recalled,
        recall=recalled / len(observable) if len(observable) else float("nan"),
        precision_vs_relevant=float(t["customer_relevant"].mean()) if len(t) else float("nan"),
        told_before_promise=early,
        median_hours_before_delivery=float(lead.median()) if lead.notna().any() else float("nan"),
        false_positives=fp[:50],
        missed=missed[:50],
    )
