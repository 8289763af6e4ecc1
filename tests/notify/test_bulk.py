"""Bulk writes (notify.store.bulk) on SQLite and PostgreSQL: the same rows end up stored as
row-by-row SQLAlchemy inserts would leave them, for small batches and for batches large
enough to go through PostgreSQL's COPY staging table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from notify.store import bulk, schema

CUSTOMER = ["customer_id", "first_name", "last_name", "email", "phone", "locale", "timezone",
            "email_opt_in", "sms_opt_in"]  # fmt: skip
SIZES = [1, bulk.COPY_MIN_ROWS + 7]  # a multi-row VALUES statement, and COPY on PostgreSQL
CHICAGO = timezone(timedelta(hours=-6))


def _customer(cid: str, name: str, **changes: object) -> tuple:
    row = {"customer_id": cid, "first_name": name, "last_name": None, "email": None,
           "phone": None, "locale": "en-US", "timezone": "America/Chicago",
           "email_opt_in": True, "sms_opt_in": False} | changes  # fmt: skip
    return tuple(row[c] for c in CUSTOMER)


def _filler(n: int) -> list[tuple]:
    return [_customer(f"F{i:05d}", f"filler {i}") for i in range(n - 1)]


def _customers(conn) -> dict[str, tuple]:
    rows = conn.execute(select(schema.customers).order_by(schema.customers.c.customer_id))
    return {r.customer_id: tuple(r) for r in rows}


@pytest.mark.parametrize("size", SIZES)
def test_upsert_inserts_then_overwrites(engine, size):
    with engine.begin() as conn:
        assert bulk.upsert(conn, schema.customers, CUSTOMER,
                           [_customer("C1", "Ana"), *_filler(size)], ["customer_id"]) == size  # fmt: skip
        bulk.upsert(conn, schema.customers, CUSTOMER,
                    [*_filler(size), _customer("C1", "Anaïs", email="a@x.io")], ["customer_id"])  # fmt: skip
        stored = _customers(conn)
    assert len(stored) == size
    assert stored["C1"] == _customer("C1", "Anaïs", email="a@x.io")


@pytest.mark.parametrize("size", SIZES)
def test_insert_new_keeps_what_is_there_and_counts_only_new_rows(engine, size):
    with engine.begin() as conn:
        bulk.upsert(conn, schema.customers, CUSTOMER, [_customer("C1", "Ana")], ["customer_id"])
        rows = [_customer("C1", "Intruder"), _customer("C2", "Bo"), *_filler(size)]
        assert bulk.insert_new(conn, schema.customers, CUSTOMER, rows, ["customer_id"]) == size
        assert bulk.insert_new(conn, schema.customers, CUSTOMER, rows, ["customer_id"]) == 0
        stored = _customers(conn)
    assert stored["C1"][1] == "Ana" and stored["C2"][1] == "Bo"
    assert len(stored) == size + 1


@pytest.mark.parametrize("size", SIZES)
def test_a_key_repeated_in_one_batch_ends_as_applied_row_by_row(engine, size):
    first, middle, last = (_customer("C1", "first", email="1@x.io"),
                           _customer("C1", "middle", email="2@x.io"),
                           _customer("C1", "last", email="3@x.io"))  # fmt: skip
    with engine.begin() as conn:
        new = bulk.insert_new(conn, schema.customers, CUSTOMER,
                              [first, *_filler(size), middle, last], ["customer_id"])  # fmt: skip
        assert new == size
        assert _customers(conn)["C1"] == first  # insert-if-new: the first row wins
        bulk.upsert(conn, schema.customers, CUSTOMER, [first, middle, *_filler(size), last],
                    ["customer_id"])  # fmt: skip
        assert _customers(conn)["C1"] == last  # upsert: the last row wins
        # Only some columns updated, key new: the first row inserts, later rows set the rest.
        bulk.upsert(conn, schema.customers, CUSTOMER,
                    [_customer("C7", "first", email="1@x.io"), *_filler(size),
                     _customer("C7", "last", email="3@x.io")],
                    ["customer_id"], update=["email"])  # fmt: skip
        assert _customers(conn)["C7"] == _customer("C7", "first", email="3@x.io")


@pytest.mark.parametrize("size", SIZES)
def test_nulls_empty_strings_and_awkward_text_survive(engine, size):
    awkward = "tab\there\nnew line\r\\N back\\slash \\x00 «ünïcode» 'quote' \"dq\""
    rows = [
        _customer("C1", awkward, last_name="", email=None, phone="\\N"),
        _customer("C2", "", last_name=None, email="", phone=None, timezone=None),
        *_filler(size),
    ]
    with engine.begin() as conn:
        bulk.upsert(conn, schema.customers, CUSTOMER, rows, ["customer_id"])
        stored = _customers(conn)
        nulls = conn.execute(
            select(func.count()).where(schema.customers.c.last_name.is_(None))
        ).scalar_one()
    assert stored["C1"] == rows[0] and stored["C2"] == rows[1]
    assert nulls == size - 1 + 1  # the fillers and C2; C1's empty last name is not NULL


@pytest.mark.parametrize("size", SIZES)
def test_times_with_offsets_are_stored_in_utc_like_sqlalchemy_would(engine, size):
    placed = datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=CHICAGO)
    promised = datetime(2026, 11, 21, 5, 59, 59, tzinfo=UTC)
    columns = ["order_id", "customer_id", "placed_at", "promised_by", "promised_by_utc",
               "status", "channel", "need_by", "order_value"]  # fmt: skip
    rows = [(f"O{i}", "C1", placed + timedelta(minutes=i), "2026-11-20", promised, "open",
             None if i % 2 else "web", None, 12.5 + i) for i in range(size)]  # fmt: skip
    with engine.begin() as conn:
        bulk.upsert(conn, schema.customers, CUSTOMER, [_customer("C1", "Ana")], ["customer_id"])
        bulk.upsert(conn, schema.orders, columns, rows, ["order_id"])
        conn.execute(
            schema.orders.insert().values(dict(zip(columns, ("REF", *rows[0][1:]), strict=True)))
        )
        got = conn.execute(select(schema.orders).where(schema.orders.c.order_id == "O0")).one()
        raw = dict(conn.execute(text("SELECT order_id, CAST(placed_at AS TEXT) FROM orders "
                                     "WHERE order_id IN ('O0', 'REF')")).all())  # fmt: skip
    assert got.placed_at == placed and got.placed_at.utcoffset() == timedelta(0)
    assert got.placed_at.hour == 15 and got.promised_by_utc == promised
    assert got.order_value == 12.5 and got.channel == "web"
    assert raw["O0"] == raw["REF"]  # byte for byte what SQLAlchemy's own insert stores


def test_naive_times_are_refused(engine):
    columns = ["run_id", "as_of", "started_at", "mode", "status"]
    row = ("r1", datetime(2026, 11, 20, 9, 30), datetime.now(UTC), "send", "running")
    with pytest.raises(ValueError, match="naive"), engine.begin() as conn:
        bulk.upsert(conn, schema.runs, columns, [row], ["run_id"])


@pytest.mark.parametrize("size", SIZES)
def test_json_text_bytes_defaults_and_generated_ids(engine, size):
    at = datetime(2026, 11, 20, 12, tzinfo=UTC)
    body = bytes(range(256)) + b"\\x\t\n"
    columns = ["sha256", "source", "origin", "origin_ref", "received_at", "body", "parse_status"]
    rows = [(f"{i:064x}", "ups", "api", f"ref {i}", at, body + bytes([i % 256]), "parsed")
            for i in range(size)]  # fmt: skip
    with engine.begin() as conn:
        assert bulk.insert_new(conn, schema.raw_payloads, columns, rows, ["sha256"]) == size
        stored = conn.execute(select(schema.raw_payloads).order_by("payload_id")).all()
        # runs.params and runs.summary have Python-side defaults ("{}")
        bulk.upsert(conn, schema.runs, ["run_id", "as_of", "started_at", "mode", "status"],
                    [("r1", at, at, "send", "running")], ["run_id"])  # fmt: skip
        run = conn.execute(select(schema.runs)).one()
        evidence = '{"events": [1, 2], "note": "tab\\there\\\\n", "ü": null}'
        episode = ["episode_id", "carrier", "tracking_number", "kind", "cause", "opened_at",
                   "updated_at", "version", "facts_hash", "evidence", "facts"]  # fmt: skip
        bulk.upsert(conn, schema.delay_episodes, episode,
                    [("E1", "ups", "1Z", "late", "weather", at, at, 1, "h", evidence, None)],
                    ["episode_id"])  # fmt: skip
        facts = conn.execute(select(schema.delay_episodes.c.evidence,
                                    schema.delay_episodes.c.facts)).one()  # fmt: skip
    assert [bytes(r.body) for r in stored] == [r[5] for r in rows]
    assert [r.payload_id for r in stored] == list(range(1, size + 1))  # in the order given
    assert stored[0].received_at == at and stored[0].parse_error is None
    assert (run.params, run.summary) == ("{}", "{}")
    assert tuple(facts) == (evidence, None)


def test_tracking_events_natural_key_with_times(engine):
    at = datetime(2026, 11, 20, 8, tzinfo=CHICAGO)
    columns = ["carrier", "tracking_number", "occurred_at", "local_time", "status", "code",
               "description", "first_seen_at"]  # fmt: skip
    rows = [("ups", f"1Z{i % 600}", at + timedelta(hours=i // 600), at.isoformat(),
             "in_transit", "IT", f"scan {i}", at) for i in range(1200)]  # fmt: skip
    same_instant = ("ups", "1Z0", at.astimezone(UTC), "x", "in_transit", "IT", "dup", at)
    key = ["carrier", "tracking_number", "occurred_at", "code", "status"]
    with engine.begin() as conn:
        assert bulk.insert_new(conn, schema.tracking_events, columns, rows, key) == 1200
        assert bulk.insert_new(conn, schema.tracking_events, columns, [same_instant], key) == 0
        assert bulk.insert_new(conn, schema.tracking_events, columns, rows + rows, key) == 0
        descriptions = conn.execute(
            select(schema.tracking_events.c.description).order_by("event_id").limit(2)
        ).scalars().all()  # fmt: skip
    assert descriptions == ["scan 0", "scan 1"]


def test_an_empty_batch_writes_nothing(engine):
    with engine.begin() as conn:
        assert bulk.upsert(conn, schema.customers, CUSTOMER, [], ["customer_id"]) == 0
        assert bulk.insert_new(conn, schema.customers, CUSTOMER, [], ["customer_id"]) == 0
        assert _customers(conn) == {}


def test_writes_roll_back_with_the_callers_transaction(engine):
    with pytest.raises(RuntimeError, match="stop"), engine.begin() as conn:
        bulk.upsert(conn, schema.customers, CUSTOMER, _filler(bulk.COPY_MIN_ROWS + 1),
                    ["customer_id"])  # fmt: skip
        raise RuntimeError("stop")
    with engine.connect() as conn:
        assert _customers(conn) == {}


def test_a_staging_table_serves_many_batches_in_one_transaction(engine):
    with engine.begin() as conn:
        for n in range(3):
            rows = [_customer(f"B{n}-{i}", "x") for i in range(bulk.COPY_MIN_ROWS)]
            assert bulk.insert_new(conn, schema.customers, CUSTOMER, rows, ["customer_id"]) == len(
                rows
            )
        assert len(_customers(conn)) == 3 * bulk.COPY_MIN_ROWS


def test_unknown_columns_are_refused(engine):
    with pytest.raises(ValueError, match="no column"), engine.begin() as conn:
        bulk.upsert(conn, schema.customers, ["customer_id", "shoe_size"], [("C1", 44)],
                    ["customer_id"])  # fmt: skip
