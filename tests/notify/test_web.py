"""Webhook receiver: signed bodies ingested, rejected ones kept raw with their reason."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select
from starlette.testclient import TestClient

import notify.config
from carriers.aftership import webhook as aftership_webhook
from carriers.easypost import webhook as easypost_webhook
from notify import web
from notify.store import schema
from tests.golden import SAMPLES

SECRETS = {"easypost": "ep-test-secret", "aftership": "as-test-secret"}
EASYPOST_BODY = (SAMPLES / "easypost_webhook_in_transit.json").read_bytes()
AFTERSHIP_BODY = (SAMPLES / "aftership_webhook_delivered.json").read_bytes()
# The EasyPost Event's updated_at and the AfterShip body's ts, plus one minute.
EASYPOST_NOW = datetime(2024, 8, 2, 19, 27, 52, tzinfo=UTC)
AFTERSHIP_NOW = datetime.fromtimestamp(1629801608, UTC) + timedelta(minutes=1)


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _client(engine, now: datetime, secrets=SECRETS) -> TestClient:
    app = web.create_app(database_url=_url(engine), secrets=secrets, clock=lambda: now)
    return TestClient(app)


def _easypost_headers(body: bytes, secret: str = SECRETS["easypost"]) -> dict[str, str]:
    return {"X-Hmac-Signature": easypost_webhook.signature(body, secret)}


def _aftership_headers(body: bytes, secret: str = SECRETS["aftership"]) -> dict[str, str]:
    return {"aftership-hmac-sha256": aftership_webhook.signature(body, secret)}


def _count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def _raw_rows(engine) -> list[tuple[str, str, str | None, bytes]]:
    c = schema.raw_payloads.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(c.origin_ref, c.parse_status, c.parse_error, c.body).order_by(c.payload_id)
        ).all()
    return [(ref, status, error, bytes(body)) for ref, status, error, body in rows]


def test_signed_easypost_body_is_kept_and_its_events_stored(engine):
    client = _client(engine, EASYPOST_NOW)
    answer = client.post(
        "/webhooks/easypost", content=EASYPOST_BODY, headers=_easypost_headers(EASYPOST_BODY)
    )
    assert answer.status_code == 200
    payload = answer.json()
    assert payload["accepted"] is True
    assert payload["results"] == 1
    assert payload["parse_error"] is False
    assert payload["new_events"] > 0
    events = _count(engine, schema.tracking_events)
    assert events == payload["new_events"]
    assert _count(engine, schema.tracking_events, schema.tracking_events.c.carrier == "fedex") == (
        events
    )
    assert _raw_rows(engine) == [("easypost", "parsed", None, EASYPOST_BODY)]

    replay = client.post(
        "/webhooks/easypost", content=EASYPOST_BODY, headers=_easypost_headers(EASYPOST_BODY)
    )
    assert replay.status_code == 200
    assert replay.json()["new_events"] == 0
    assert replay.json()["accepted"] is True
    assert _count(engine, schema.tracking_events) == events
    assert _count(engine, schema.raw_payloads) == 1


def test_signed_aftership_body_is_accepted(sqlite_engine):
    client = _client(sqlite_engine, AFTERSHIP_NOW)
    answer = client.post(
        "/webhooks/aftership",
        content=AFTERSHIP_BODY,
        headers=_aftership_headers(AFTERSHIP_BODY),
    )
    assert answer.status_code == 200
    assert answer.json()["accepted"] is True
    assert answer.json()["results"] == 1
    # The sample is a delivered TNT parcel without checkpoints: a status, no events.
    assert answer.json()["new_events"] == 0
    etas = schema.eta_statements.c
    assert _count(sqlite_engine, schema.eta_statements, etas.carrier == "tnt",
                  etas.tracking_number == "123456789", etas.stated_at == AFTERSHIP_NOW) == 1  # fmt: skip
    assert _raw_rows(sqlite_engine) == [("aftership", "parsed", None, AFTERSHIP_BODY)]


def test_tampered_body_is_refused_but_kept_with_the_reason(engine):
    client = _client(engine, EASYPOST_NOW)
    tampered = EASYPOST_BODY.replace(b'"in_transit"', b'"delivered"', 1)
    assert tampered != EASYPOST_BODY
    answer = client.post(
        "/webhooks/easypost", content=tampered, headers=_easypost_headers(EASYPOST_BODY)
    )
    assert answer.status_code == 401
    assert answer.json()["reason"] == "bad_signature"
    [(ref, status, error, body)] = _raw_rows(engine)
    assert (ref, status, body) == ("easypost", "rejected", tampered)
    assert error is not None and error.startswith("bad_signature")
    assert _count(engine, schema.tracking_events) == 0


def test_signed_with_another_secret_is_refused(sqlite_engine):
    client = _client(sqlite_engine, AFTERSHIP_NOW)
    headers = _aftership_headers(AFTERSHIP_BODY, secret="someone-else")
    answer = client.post("/webhooks/aftership", content=AFTERSHIP_BODY, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["reason"] == "bad_signature"
    assert _count(sqlite_engine, schema.tracking_events) == 0


def test_missing_signature_header_is_refused(sqlite_engine):
    client = _client(sqlite_engine, AFTERSHIP_NOW)
    answer = client.post("/webhooks/aftership", content=AFTERSHIP_BODY)
    assert answer.status_code == 401
    assert answer.json()["reason"] == "missing_signature"
    [(_, status, error, body)] = _raw_rows(sqlite_engine)
    assert (status, body) == ("rejected", AFTERSHIP_BODY)
    assert error is not None and error.startswith("missing_signature")
    assert _count(sqlite_engine, schema.tracking_events) == 0


def test_body_rejected_first_then_accepted_is_stored_once_as_parsed(engine):
    client = _client(engine, EASYPOST_NOW)
    assert client.post("/webhooks/easypost", content=EASYPOST_BODY).status_code == 401
    assert [row[1] for row in _raw_rows(engine)] == ["rejected"]
    answer = client.post(
        "/webhooks/easypost", content=EASYPOST_BODY, headers=_easypost_headers(EASYPOST_BODY)
    )
    assert answer.status_code == 200
    assert answer.json()["new_events"] == _count(engine, schema.tracking_events) > 0
    assert _raw_rows(engine) == [("easypost", "parsed", None, EASYPOST_BODY)]


def test_logs_carry_no_body_or_parcel_data(sqlite_engine, caplog):
    client = _client(sqlite_engine, EASYPOST_NOW)
    with caplog.at_level(logging.DEBUG, logger="notify"):
        headers = _easypost_headers(EASYPOST_BODY)
        client.post("/webhooks/easypost", content=EASYPOST_BODY, headers=headers)
        client.post("/webhooks/easypost", content=EASYPOST_BODY + b" ", headers=headers)
    messages = [record.getMessage() for record in caplog.records]
    assert any("accepted" in m for m in messages)
    assert any("rejected (bad_signature)" in m for m in messages)
    for message in messages:
        for private in ("ORLANDO", "32809", "trk_1", "user_1", "tracker.updated"):
            assert private not in message


@pytest.mark.parametrize(
    ("path", "body", "headers", "sent"),
    [
        ("/webhooks/easypost", EASYPOST_BODY, _easypost_headers(EASYPOST_BODY), EASYPOST_NOW),
        ("/webhooks/aftership", AFTERSHIP_BODY, _aftership_headers(AFTERSHIP_BODY), AFTERSHIP_NOW),
    ],
)
def test_stale_delivery_is_refused(sqlite_engine, path, body, headers, sent):
    client = _client(sqlite_engine, sent + timedelta(days=30))
    answer = client.post(path, content=body, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["reason"] == "stale"
    [(_, status, error, kept)] = _raw_rows(sqlite_engine)
    assert (status, kept) == ("rejected", body)
    assert error is not None and error.startswith("stale")
    assert _count(sqlite_engine, schema.tracking_events) == 0


def test_just_inside_the_window_is_accepted(sqlite_engine):
    # EasyPost's Event was updated at 19:26:52Z; the default window is 300 s.
    client = _client(sqlite_engine, datetime(2024, 8, 2, 19, 31, 50, tzinfo=UTC))
    answer = client.post(
        "/webhooks/easypost", content=EASYPOST_BODY, headers=_easypost_headers(EASYPOST_BODY)
    )
    assert answer.status_code == 200


def test_malformed_json_with_a_valid_signature_is_400_and_kept(engine):
    client = _client(engine, AFTERSHIP_NOW)
    truncated = AFTERSHIP_BODY[:200]
    answer = client.post(
        "/webhooks/aftership", content=truncated, headers=_aftership_headers(truncated)
    )
    assert answer.status_code == 400
    assert answer.json()["reason"] == "malformed"
    [(_, status, error, kept)] = _raw_rows(engine)
    assert (status, kept) == ("rejected", truncated)
    assert error is not None and error.startswith("malformed")
    assert _count(engine, schema.tracking_events) == 0


def test_unconfigured_secret_answers_503_naming_the_setting(sqlite_engine):
    client = _client(sqlite_engine, EASYPOST_NOW, secrets={"easypost": None, "aftership": ""})
    for path, setting in [
        ("/webhooks/easypost", "OASIS_EASYPOST_WEBHOOK_SECRET"),
        ("/webhooks/aftership", "OASIS_AFTERSHIP_WEBHOOK_SECRET"),
    ]:
        answer = client.post(path, content=EASYPOST_BODY, headers=_easypost_headers(EASYPOST_BODY))
        assert answer.status_code == 503
        assert setting in answer.json()["error"]
    assert _count(sqlite_engine, schema.raw_payloads) == 0


def test_oversized_body_is_refused_without_storing(sqlite_engine):
    app = web.create_app(
        database_url=_url(sqlite_engine),
        secrets=SECRETS,
        clock=lambda: EASYPOST_NOW,
        max_body_bytes=len(EASYPOST_BODY) - 1,
    )
    answer = TestClient(app).post(
        "/webhooks/easypost", content=EASYPOST_BODY, headers=_easypost_headers(EASYPOST_BODY)
    )
    assert answer.status_code == 413
    assert _count(sqlite_engine, schema.raw_payloads) == 0


def test_healthz_and_wrong_method(sqlite_engine):
    client = _client(sqlite_engine, EASYPOST_NOW)
    assert client.get("/healthz").json() == {"ok": True}
    assert client.get("/webhooks/easypost").status_code == 405


def test_real_uvicorn_server_from_the_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv("OASIS_DATABASE_URL", f"sqlite:///{tmp_path / 'served.db'}")
    monkeypatch.setattr(notify.config, "webhook_secrets", lambda: dict(SECRETS), raising=False)
    server = web.build_server(["--host", "127.0.0.1", "--port", "0"])
    assert server.config.host == "127.0.0.1"
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        assert requests.get(f"{base}/healthz", timeout=5).json() == {"ok": True}
        # The real clock is years after the sample's ts: a correctly signed old body is stale.
        answer = requests.post(
            f"{base}/webhooks/aftership",
            data=AFTERSHIP_BODY,
            headers=_aftership_headers(AFTERSHIP_BODY),
            timeout=5,
        )
        assert answer.status_code == 401
        assert answer.json()["reason"] == "stale"
        forged = requests.post(f"{base}/webhooks/easypost", data=b"{}", timeout=5)
        assert forged.status_code == 401
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive()
    from notify.store import engine_for

    stored = engine_for(f"sqlite:///{tmp_path / 'served.db'}")
    assert (
        _count(stored, schema.raw_payloads, schema.raw_payloads.c.parse_status == "rejected") == 2
    )


def test_serve_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("OASIS_DATABASE_URL", f"sqlite:///{tmp_path / 'defaults.db'}")
    monkeypatch.setattr(notify.config, "webhook_secrets", lambda: {}, raising=False)
    server = web.build_server([])
    assert (server.config.host, server.config.port) == ("127.0.0.1", 8090)
