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


def test_a_scratch_folder_is_removed_after_the_run_even_when_it_fails(tmp_path, monkeypatch):
    import tempfile

    import pytest

    from bench.measure import scratch_dir

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with scratch_dir("oasis-bench-") as work:
        (work / "oasis.db").write_bytes(b"x" * 1000)
        assert work.parent == tmp_path
    with pytest.raises(RuntimeError), scratch_dir("oasis-bench-") as work:
        (work / "world").mkdir()
        raise RuntimeError("out of memory at a million orders")
    assert list(tmp_path.iterdir()) == []
