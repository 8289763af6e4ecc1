"""The parse benchmark measures parses that succeed: tiny runs, checked against what was encoded."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench.parse import Payload, batch_size, bench_codec, bench_samples, generate, mismatches
from carriers import registry
from carriers.registry import CarrierSpec
from carriers.taxonomy import Status

CODEC_CARRIERS = [spec for spec in registry.all_carriers() if spec.sandbox is not None]


def test_every_codec_carrier_is_benchmarked() -> None:
    names = {spec.name for spec in CODEC_CARRIERS}
    assert {"fedex", "ups", "usps", "dhl", "easypost", "aftership"} <= names
    assert batch_size("fedex") == 30
    assert batch_size("ups") == 1


@pytest.mark.parametrize("spec", CODEC_CARRIERS, ids=lambda s: s.name)
def test_generated_payloads_parse_back_to_the_encoded_statuses(spec: CarrierSpec) -> None:
    count = max(1, 12 // batch_size(spec.name))
    payloads = generate(spec, count, 5, seed=11)
    assert payloads == generate(spec, count, 5, seed=11)  # deterministic for a seed
    sent = [item for p in payloads for item in p.expected]
    assert len(sent) == count * batch_size(spec.name)
    assert len({status for _, status, _ in sent}) >= 3  # a mix of states, not one
    for payload in payloads:
        parsed = spec.parse(payload.body)
        got = sorted((r.tracking_number, r.status, r.reason) for r in parsed)
        assert got == sorted(payload.expected)
        assert all(len(r.events) == 5 for r in parsed)
        assert all(e.occurred_at.utcoffset() is not None for r in parsed for e in r.events)
        assert mismatches(spec.parse, payload) == []


def test_a_wrong_expectation_is_reported() -> None:
    spec = registry.get("ups")
    payload = generate(spec, 1, 3, seed=3)[0]
    number, status, reason = payload.expected[0]
    wrong = Status.EXPIRED if status is not Status.EXPIRED else Status.DELIVERED
    bad = replace(payload, expected=((number, wrong, reason),))
    assert mismatches(spec.parse, bad)
    assert mismatches(spec.parse, Payload(payload.body, ())) == ["sent 0 results, parsed 1"]


@pytest.mark.parametrize("name", ["fedex", "usps"])
def test_codec_rows_are_positive(name: str) -> None:
    row = bench_codec(registry.get(name), 2, 4, seed=5)
    assert row["payloads"] == 2
    assert row["results"] == 2 * batch_size(name)
    assert row["events"] == row["results"] * 4
    assert row["payloads_per_second"] > 0 and row["events_per_second"] > 0
    assert row["mean_payload_kb"] > 0 and row["peak_rss_mb"] > 0


def test_sample_rows_cover_the_file_drop_formats() -> None:
    rows = list(bench_samples(1))
    covered = {(row["carrier"], row["source"].split()[1]) for row in rows}
    for fmt in {("amazon", "json"), ("pitneybowes", "json"), ("canadapost", "xml")}:
        assert fmt in covered
    assert {fmt for carrier, fmt in covered if carrier in ("ups", "usps", "fedex")} == {
        "json",
        "xml",
    }
    for row in rows:
        assert row["payloads"] > 0 and row["payloads_per_second"] > 0
        assert row["mean_payload_kb"] > 0
