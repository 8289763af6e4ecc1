"""Ops alerts: a failed task tells a person, through a webhook and/or email.

:func:`task_failed` is the ``on_failure_callback`` of every task in the Oasis DAGs (its body
is this one call). It builds a short alert from the task context — DAG, task, run, try,
the error's type and first line, the log link — and sends it to
``OASIS_ALERT_WEBHOOK_URL`` (a JSON POST with a ``text`` field, as Slack and Teams incoming
webhooks take it) and to ``OASIS_ALERT_EMAILS`` through Airflow's configured email backend
(``[email] email_backend``: SMTP by default, SendGrid with the SendGrid provider). Neither
configured: the alert is only logged. An alert that cannot be delivered is logged and never
masks the task's own failure. Alerts carry ids and counts only, never customer data.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from typing import Any

from notify.config import Settings, load_settings

log = logging.getLogger(__name__)
ERROR_CHARS = 300
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Alert:
    dag_id: str
    task_id: str
    run_id: str
    try_number: int | None
    error: str
    log_url: str | None

    @property
    def subject(self) -> str:
        return f"[oasis] {self.dag_id}.{self.task_id} failed (run {self.run_id})"

    @property
    def text(self) -> str:
        lines = [self.subject, f"try {self.try_number}: {self.error}"]
        if self.log_url:
            lines.append(f"log: {self.log_url}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, **self.__dict__}


def _first_line(error: BaseException | str | None) -> str:
    if error is None:
        return "unknown error"
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    name = type(error).__name__ if isinstance(error, BaseException) else "error"
    return f"{name}: {first}"[:ERROR_CHARS]


def alert_from_context(context: Any) -> Alert:
    ti = context.get("ti") or context.get("task_instance")
    try:
        log_url = getattr(ti, "log_url", None)
    except Exception:  # the log URL needs [api] base_url; an alert goes out without it
        log_url = None
    return Alert(
        dag_id=str(getattr(ti, "dag_id", None) or context.get("dag_id") or "?"),
        task_id=str(getattr(ti, "task_id", None) or "?"),
        run_id=str(context.get("run_id") or getattr(ti, "run_id", "?")),
        try_number=getattr(ti, "try_number", None),
        error=_first_line(context.get("exception")),
        log_url=str(log_url) if log_url else None,
    )


def send(alert: Alert, settings: Settings) -> list[str]:
    """Deliver the alert on every configured route; returns the routes that took it."""
    delivered = []
    log.error("ALERT %s", alert.text)
    if settings.alert_webhook_url:
        try:
            import requests

            response = requests.post(
                settings.alert_webhook_url, json=alert.to_dict(), timeout=TIMEOUT_SECONDS
            )
            response.raise_for_status()
            delivered.append("webhook")
        except Exception as exc:  # an alert route failing must not hide the task's failure
            log.warning("the alert webhook failed: %s", type(exc).__name__)
    if settings.alert_emails:
        try:
            from airflow.utils.email import send_email

            body = "<pre>" + html.escape(alert.text) + "</pre>"
            send_email(list(settings.alert_emails), alert.subject, body)
            delivered.append("email")
        except Exception as exc:
            log.warning("the alert email failed: %s", type(exc).__name__)
    return delivered


def task_failed(context: Any) -> list[str]:
    """``on_failure_callback``: alert ops that a task failed (after its last retry)."""
    return send(alert_from_context(context), load_settings())
