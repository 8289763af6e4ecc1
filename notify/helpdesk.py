"""Help-desk adapters: hand an escalation case to the people who answer customers.

One small interface (:class:`Helpdesk`): ``export`` a case as a ticket (idempotent: a case
already exported under its id is found, not created twice), ``comment`` on it when the case
gains new triggers, and ``status`` to learn when it was solved. The Zendesk adapter speaks
the Zendesk Support REST API (``/api/v2/tickets``) with ``requests``; any help desk with a
ticket API fits the same three calls.

Faults: 401/403 raise :class:`HelpdeskAuthError` (the step stops: every further call would
fail the same way); 429 waits for ``Retry-After`` (bounded) and retries; other 4xx raise
:class:`HelpdeskRejected` for that case only; 5xx and timeouts raise
:class:`HelpdeskUnavailable` and the case is retried by the next run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from notify.config import HelpdeskSettings


class HelpdeskError(RuntimeError):
    """A help-desk call failed."""


class HelpdeskAuthError(HelpdeskError):
    """The help desk refused our credentials: fix OASIS_HELPDESK_EMAIL / _TOKEN."""


class HelpdeskRejected(HelpdeskError):
    """The help desk refused this one ticket (4xx other than auth and rate limit)."""


class HelpdeskUnavailable(HelpdeskError):
    """The help desk did not answer properly (5xx, timeout): try again later."""


@dataclass(frozen=True)
class Ticket:
    case_id: str
    subject: str
    body: str
    priority: str  # urgent | high | normal
    tags: tuple[str, ...]
    requester_name: str | None = None
    requester_email: str | None = None


class Helpdesk(Protocol):
    name: str

    def export(self, ticket: Ticket) -> str:
        """Create the ticket (or find the one already made for this case); its id."""
        ...

    def comment(self, external_id: str, body: str) -> None: ...

    def status(self, external_id: str) -> str:
        """The ticket's status in the help desk's own words."""
        ...

    def is_solved(self, status: str) -> bool: ...


class ZendeskHelpdesk:
    """Zendesk Support: API token auth (``{email}/token:{token}``), tickets by external id."""

    name = "zendesk"
    SOLVED = frozenset({"solved", "closed"})

    def __init__(
        self,
        settings: HelpdeskSettings,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_wait_seconds: float = 60.0,
    ) -> None:
        if not settings.url:
            raise ValueError("the Zendesk adapter needs OASIS_HELPDESK_URL (or a connection host)")
        if not settings.email or not settings.token:
            raise ValueError(
                "the Zendesk adapter needs OASIS_HELPDESK_EMAIL and OASIS_HELPDESK_TOKEN "
                "(or login and password of the Airflow Connection oasis_helpdesk)"
            )
        self.base = settings.url.rstrip("/")
        self.group_id = settings.group_id
        self.timeout = settings.timeout_seconds
        self.session = session or requests.Session()
        self.session.auth = (f"{settings.email}/token", settings.token)
        self.session.headers.update({"Accept": "application/json"})
        self.sleep = sleep
        self.max_wait = max_wait_seconds

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.base}{path}"
        waited = 0.0
        while True:
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise HelpdeskUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
            if response.status_code == 429:
                wait = float(response.headers.get("Retry-After", "5") or 5)
                if waited + wait > self.max_wait:
                    raise HelpdeskUnavailable(f"{method} {path}: rate limited for too long")
                self.sleep(wait)
                waited += wait
                continue
            return self._answer(method, path, response)

    @staticmethod
    def _answer(method: str, path: str, response: requests.Response) -> dict[str, Any]:
        code = response.status_code
        if code in (401, 403):
            raise HelpdeskAuthError(f"{method} {path}: HTTP {code}; check the help-desk token")
        if code >= 500:
            raise HelpdeskUnavailable(f"{method} {path}: HTTP {code}")
        if code >= 400:
            raise HelpdeskRejected(f"{method} {path}: HTTP {code}: {response.text[:300]}")
        if not response.content:
            return {}
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise HelpdeskUnavailable(f"{method} {path}: answer is not JSON") from exc
        return body

    def _find(self, case_id: str) -> str | None:
        found = self._call("GET", "/api/v2/tickets.json", params={"external_id": case_id})
        tickets = found.get("tickets") or []
        return str(tickets[0]["id"]) if tickets else None

    def export(self, ticket: Ticket) -> str:
        existing = self._find(ticket.case_id)
        if existing is not None:
            return existing
        body: dict[str, Any] = {
            "subject": ticket.subject,
            "comment": {"body": ticket.body, "public": False},
            "priority": ticket.priority,
            "tags": list(ticket.tags),
            "external_id": ticket.case_id,
        }
        if ticket.requester_email:
            body["requester"] = {
                "name": ticket.requester_name or ticket.requester_email,
                "email": ticket.requester_email,
            }
        if self.group_id:
            body["group_id"] = int(self.group_id) if self.group_id.isdigit() else self.group_id
        made = self._call("POST", "/api/v2/tickets.json", json={"ticket": body})
        try:
            return str(made["ticket"]["id"])
        except (KeyError, TypeError) as exc:
            raise HelpdeskUnavailable("POST /api/v2/tickets.json: no ticket id in answer") from exc

    def comment(self, external_id: str, body: str) -> None:
        payload = {"ticket": {"comment": {"body": body, "public": False}}}
        self._call("PUT", f"/api/v2/tickets/{external_id}.json", json=payload)

    def status(self, external_id: str) -> str:
        answer = self._call("GET", f"/api/v2/tickets/{external_id}.json")
        return str((answer.get("ticket") or {}).get("status", "unknown"))

    def is_solved(self, status: str) -> bool:
        return status in self.SOLVED


def make_helpdesk(settings: HelpdeskSettings) -> Helpdesk | None:
    """The configured adapter, or None when cases stay in the store (``oasis cases``)."""
    if settings.kind in ("", "none"):
        return None
    if settings.kind == "zendesk":
        return ZendeskHelpdesk(settings)
    raise ValueError(f"OASIS_HELPDESK={settings.kind!r}: supported are none and zendesk")
