"""Ops alerts: a failed task reaches a real webhook receiver and a real SMTP server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from notify import alerts
from notify.config import load_settings


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]]
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]], type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"bodies": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/ops", handler.bodies, handler
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(monkeypatch) -> Iterator[list[bytes]]:
    from aiosmtpd.controller import Controller

    received: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope.content)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("AIRFLOW__SMTP__SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("AIRFLOW__SMTP__SMTP_PORT", str(port))
    monkeypatch.setenv("AIRFLOW__SMTP__SMTP_STARTTLS", "False")
    monkeypatch.setenv("AIRFLOW__SMTP__SMTP_SSL", "False")
    monkeypatch.setenv("AIRFLOW__SMTP__SMTP_MAIL_FROM", "airflow@example.com")
    yield received
    controller.stop()


ALERT = alerts.Alert(
    dag_id="delivery_notifications",
    task_id="send",
    run_id="scheduled__2025-11-20T04:00:00+00:00",
    try_number=4,
    error="ProviderUnavailable: SendGrid answered 503",
    log_url="http://airflow.internal/dags/delivery_notifications/runs/x/tasks/send",
)


def test_an_alert_goes_to_the_webhook_and_by_email(webhook, smtp, monkeypatch):
    url, bodies, _ = webhook
    monkeypatch.setenv("OASIS_ALERT_WEBHOOK_URL", url)
    monkeypatch.setenv("OASIS_ALERT_EMAILS", "ops@example.com, oncall@example.com")
    assert alerts.send(ALERT, load_settings()) == ["webhook", "email"]
    assert bodies[0]["task_id"] == "send" and "SendGrid answered 503" in bodies[0]["text"]
    assert ALERT.log_url in bodies[0]["text"]
    message = message_from_bytes(smtp[0], policy=default_policy)
    assert message["Subject"] == ALERT.subject
    assert "ops@example.com" in message["To"] and "oncall@example.com" in message["To"]


def test_an_alert_route_that_fails_is_logged_and_does_not_raise(webhook, monkeypatch, caplog):
    url, _, handler = webhook
    handler.status = 500
    monkeypatch.setenv("OASIS_ALERT_WEBHOOK_URL", url)
    monkeypatch.delenv("OASIS_ALERT_EMAILS", raising=False)
    assert alerts.send(ALERT, load_settings()) == []
    assert "the alert webhook failed" in caplog.text


def test_the_error_is_cut_to_its_first_line():
    error = ValueError("orders/customers.csv: bad row\n" + "x" * 1000)
    assert alerts._first_line(error) == "ValueError: orders/customers.csv: bad row"
    assert len(alerts._first_line(ValueError("y" * 1000))) == alerts.ERROR_CHARS


@pytest.mark.slow
def test_a_task_that_fails_in_the_real_dag_alerts_ops(webhook, tmp_path, monkeypatch):
    from notify.airflow_local import run_dag

    url, bodies, _ = webhook
    monkeypatch.setenv("OASIS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OASIS_ALERT_WEBHOOK_URL", url)
    conf = {"as_of": "2025-11-20T04:00:00+00:00", "orders_dir": str(tmp_path / "missing")}
    _, state = run_dag(load_settings(), conf)
    assert state == "failed"
    assert [b["task_id"] for b in bodies] == ["orders"]  # the first task to read the missing folder
    assert bodies[0]["dag_id"] == "delivery_notifications"
    assert str(tmp_path / "missing") in bodies[0]["error"] or "missing" in bodies[0]["error"]
