"""Ingest: raw payloads kept as received, parse errors recorded, events inserted once."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

from sqlalchemy import func, select

from notify.stages.ingest import ingest_tracking_dir
from notify.store import schema
from tests.golden import SAMPLES

AS_OF = datetime(2026, 11, 20, 12, tzinfo=UTC)
SAMPLE_NAMES = [
    "usps_in_transit.json",
    "usps_not_found.json",
    "easypost_webhook_in_transit.json",
    "aftership_address_issue.json",
    "canadapost_address_issue.xml",
]


def _drop(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    for name in SAMPLE_NAMES:
        shutil.copy(SAMPLES / name, folder / name)
    (folder / "truncated.json").write_bytes((SAMPLES / "usps_in_transit.json").read_bytes()[:300])
    (folder / "error_page.html").write_bytes(b"<html><body>502 Bad Gateway</body></html>")
    return folder


def _count(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_every_payload_is_kept_and_bad_ones_carry_their_error(engine, tmp_path):
    result = ingest_tracking_dir(engine, _drop(tmp_path), run_id="r1", as_of=AS_OF)
    assert result.payloads == len(SAMPLE_NAMES) + 2
    assert result.parse_errors == 2
    assert _count(engine, schema.raw_payloads) == len(SAMPLE_NAMES) + 2
    with engine.connect() as conn:
        errors = dict(conn.execute(select(schema.raw_payloads.c.origin_ref,
                                          schema.raw_payloads.c.parse_error).where(
            schema.raw_payloads.c.parse_status == "error")).all())  # fmt: skip
    assert set(errors) == {"truncated.json", "error_page.html"}
    assert all(errors.values())
    assert result.new_events > 10
    assert result.problems.get("not_found") == 1
    with engine.connect() as conn:
        body = conn.execute(select(schema.raw_payloads.c.body).where(
            schema.raw_payloads.c.origin_ref == "usps_in_transit.json")).scalar_one()  # fmt: skip
    assert bytes(body) == (SAMPLES / "usps_in_transit.json").read_bytes()


def test_ingesting_the_same_drop_twice_adds_nothing(engine, tmp_path):
    folder = _drop(tmp_path)
    first = ingest_tracking_dir(engine, folder, run_id="r1", as_of=AS_OF)
    events = _count(engine, schema.tracking_events)
    second = ingest_tracking_dir(engine, folder, run_id="r2", as_of=AS_OF)
    assert first.new_payloads == len(SAMPLE_NAMES) + 2
    assert second.new_payloads == 0 and second.new_events == 0
    assert _count(engine, schema.tracking_events) == events


def test_event_times_keep_their_instant(sqlite_engine, tmp_path):
    ingest_tracking_dir(sqlite_engine, _drop(tmp_path), run_id="r1", as_of=AS_OF)
    with sqlite_engine.connect() as conn:
        rows = conn.execute(select(schema.tracking_events.c.occurred_at,
                                   schema.tracking_events.c.local_time)).all()  # fmt: skip
    for occurred_at, local_time in rows:
        assert occurred_at == datetime.fromisoformat(local_time)


def test_one_batch_keeps_a_repeated_body_once_and_its_events_once(engine):
    """Within one batch (one bulk write per table) a body sent twice is stored once, and an
    event two payloads both report is inserted once, from the first payload that said it."""
    from notify.stages.ingest import Payload, ingest_payloads

    body = (SAMPLES / "usps_in_transit.json").read_bytes()
    resent = body.replace(b"{", b"{ ", 1)  # another body (new SHA-256), the same events
    items = [Payload(body, "file", "a.json"), Payload(body, "file", "b.json"),
             Payload(resent, "file", "c.json"), Payload(b"not json", "file", "d.json", "usps")]  # fmt: skip
    result = ingest_payloads(engine, items, run_id="r1", stated_at=AS_OF)
    assert (result.payloads, result.new_payloads, result.parse_errors) == (4, 3, 1)
    assert result.results == 3
    with engine.connect() as conn:
        refs = dict(conn.execute(select(schema.raw_payloads.c.origin_ref,
                                        schema.raw_payloads.c.payload_id)).all())  # fmt: skip
        sources = set(conn.execute(select(schema.tracking_events.c.payload_id)).scalars())
    assert set(refs) == {"a.json", "c.json", "d.json"}
    assert result.new_events == _count(engine, schema.tracking_events) > 0
    assert sources == {refs["a.json"]}
    assert _count(engine, schema.eta_statements) == 1  # one statement per parcel and time
