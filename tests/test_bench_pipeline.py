"""The pipeline benchmark's plumbing: payloads spooled to disk come back as they went in,
and results are named after the database they were measured on."""

from __future__ import annotations

from bench.__main__ import _spool, _unspool, database_name
from notify.stages.ingest import Payload


def test_spooled_payloads_come_back_unchanged_and_in_order(tmp_path):
    payloads = [
        Payload(b'{"a": 1}', "api", "fedex:bench", "fedex"),
        Payload(bytes(range(256)) * 3, "api", "ups:bench ü", "ups"),
        Payload(b"", "api", "", None),
    ]
    path = tmp_path / "payloads.spool"
    assert _spool(iter(payloads), path) == 3
    assert list(_unspool(path)) == payloads
    assert _spool(iter([]), path) == 0 and list(_unspool(path)) == []


def test_results_are_named_after_the_database():
    assert database_name(None) == "sqlite"
    assert database_name("sqlite:////tmp/x.db") == "sqlite"
    assert database_name("postgresql+psycopg2://postgres@127.0.0.1:5432/bench") == "postgresql"


def test_every_step_is_saved_as_soon_as_it_is_measured():
    from bench.__main__ import Recorded
    from bench.measure import Step

    saved: list[list[str]] = []
    steps = Recorded(lambda so_far: saved.append([s.name for s in so_far]))
    steps.append(Step("simulate"))
    steps.append(Step("load orders"))
    assert saved == [["simulate"], ["simulate", "load orders"]]
    assert [s.name for s in steps] == ["simulate", "load orders"]
