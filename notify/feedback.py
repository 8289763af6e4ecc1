"""The way back: what providers tell us after a send, applied once and only forward.

Every webhook body is stored raw first (:func:`store_webhook`), accepted or not. An
accepted body is split into events; each event is inserted into ``provider_events`` under
a dedupe key (provider, message id, event, timestamp) and, for SendGrid, also under its
``sg_event_id`` (which has been seen to change across retries, hence both). Only a newly
inserted event has effects, in the same transaction, so a replay changes nothing:

* reconciliation: any event about a message proves the request landed, so a ledger key in
  ``unknown`` (or ``sending``) becomes ``sent``;
* message status moves forward only (``message_status.rank``): a late "sent" never
  overwrites "delivered";
* suppressions: bounces, spam reports, unsubscribes (SendGrid), STOP / START (Twilio
  inbound), opt-outs and invalid numbers (Twilio errors), one-click unsubscribes;
* Twilio error 30003 (unreachable handset) schedules one delayed retry of the key.

The personal part of an event (address, number) is hashed before it is stored here.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from notify import suppressions
from notify.ledger import recipient_hash
from notify.store import schema

SENDGRID_RANK = {
    "processed": 10,
    "deferred": 20,
    "delivered": 40,
    "bounce": 40,
    "dropped": 40,
    "open": 50,
    "click": 60,
}
TWILIO_RANK = {
    "accepted": 5,
    "scheduled": 6,
    "queued": 10,
    "sending": 20,
    "sent": 30,
    "delivered": 40,
    "undelivered": 40,
    "failed": 40,
    "canceled": 40,
    "read": 50,
}
SENDGRID_SUPPRESS = {
    "spamreport": "spam_report",
    "unsubscribe": "unsubscribe",
    "group_unsubscribe": "unsubscribe",
}
DROPPED_SUPPRESS = (
    ("unsubscribed", "unsubscribe"),
    ("spam", "spam_report"),
    ("bounced", "bounce"),
    ("invalid", "bounce"),
)
TWILIO_SUPPRESS = {
    21610: "opt_out",
    21211: "invalid_number",
    21614: "invalid_number",
    30006: "unreachable",
}
RETRY_ONCE_CODE = 30003

OPT_OUT_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
OPT_IN_WORDS = {"START", "UNSTOP", "YES"}
HELP_WORDS = {"HELP", "INFO"}


def keyword(body: str) -> str | None:
    """``opt_out`` / ``opt_in`` / ``help`` for an inbound SMS, in any case and spacing."""
    word = re.sub(r"[\s.!,;:'\"-]+", "", body or "").upper()
    if word in OPT_OUT_WORDS:
        return "opt_out"
    if word in OPT_IN_WORDS:
        return "opt_in"
    if word in HELP_WORDS:
        return "help"
    return None


@dataclass
class Applied:
    events: int = 0
    new: int = 0
    duplicates: int = 0
    effects: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"events": self.events, "new": self.new, "duplicates": self.duplicates}


def _insert(conn: Connection, table: Any) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def store_webhook(
    engine: Engine,
    *,
    provider: str,
    endpoint: str,
    body: bytes,
    status: str,
    reason: str | None,
    now: datetime,
) -> int:
    """Keep a webhook body exactly as received; a repeat only bumps its counter."""
    t = schema.provider_webhooks
    digest = hashlib.sha256(body).hexdigest()
    where = (
        t.c.provider == provider,
        t.c.endpoint == endpoint,
        t.c.sha256 == digest,
        t.c.status == status,
    )
    with engine.begin() as conn:
        conn.execute(
            _insert(conn, t)
            .values(
                provider=provider,
                endpoint=endpoint,
                sha256=digest,
                body=body,
                status=status,
                reason=reason,
                received_at=now,
                last_received_at=now,
                times_received=0,
            )
            .on_conflict_do_nothing()
        )
        conn.execute(
            update(t)
            .where(*where)
            .values(times_received=t.c.times_received + 1, last_received_at=now)
        )
        webhook_id: int = conn.execute(select(t.c.webhook_id).where(*where)).scalar_one()
    return webhook_id


def _new_event(conn: Connection, row: dict[str, Any]) -> int | None:
    """Insert the event unless it was seen before (either dedupe key); its id, or None."""
    t = schema.provider_events
    inserted = conn.execute(
        _insert(conn, t).values(**row, effect="pending").on_conflict_do_nothing()
    ).rowcount
    if not inserted:
        return None
    event_id: int = conn.execute(
        select(t.c.event_id).where(t.c.dedupe_key == row["dedupe_key"])
    ).scalar_one()
    return event_id


def _ledger_row(conn: Connection, send_key: str | None, message_id: str | None) -> Any:
    t = schema.send_ledger
    if send_key:
        row = conn.execute(select(t).where(t.c.send_key == send_key)).first()
        if row is not None:
            return row
    if message_id:
        return conn.execute(select(t).where(t.c.provider_message_id == message_id)).first()
    return None


def _reconcile(conn: Connection, ledger_row: Any, provider: str, event: str, at: datetime) -> str:
    """A key we could not confirm is proven sent by any event about its message."""
    if ledger_row is None or ledger_row.state not in ("unknown", "sending"):
        return ""
    t = schema.send_ledger
    conn.execute(
        update(t)
        .where(t.c.send_key == ledger_row.send_key, t.c.state.in_(("unknown", "sending")))
        .values(
            state="sent",
            updated_at=datetime.now(UTC),
            last_error=f"reconciled: {provider} event {event!r} at {at.isoformat()}",
        )
    )
    return "ledger unknown->sent; "


def _status(
    conn: Connection,
    key: str,
    provider: str,
    message_id: str | None,
    status: str,
    rank: int,
    error_code: str | None,
    at: datetime,
) -> str:
    """Move the message's status forward; an equal or lower rank changes nothing."""
    t = schema.message_status
    now = datetime.now(UTC)
    row = {
        "send_key": key,
        "provider": provider,
        "provider_message_id": message_id,
        "status": status,
        "rank": rank,
        "error_code": error_code,
        "occurred_at": at,
        "updated_at": now,
    }
    if conn.execute(_insert(conn, t).values(**row).on_conflict_do_nothing()).rowcount:
        return f"status {status}; "
    moved = conn.execute(
        update(t).where(t.c.send_key == key, t.c.rank < rank).values(**row)
    ).rowcount
    return f"status {status}; " if moved else f"status {status} ignored (not newer); "


def _set_effect(conn: Connection, event_id: int, effect: str) -> None:
    t = schema.provider_events
    text = effect.strip().rstrip(";") or "none"
    conn.execute(update(t).where(t.c.event_id == event_id).values(effect=text))


# -- SendGrid Event Webhook ------------------------------------------------------------


def _sendgrid_suppression(ev: dict[str, Any]) -> tuple[str, bool] | None:
    """(kind, active) this event sets for the recipient, if any."""
    name = str(ev.get("event", ""))
    if name in SENDGRID_SUPPRESS:
        return SENDGRID_SUPPRESS[name], True
    if name == "group_resubscribe":
        return "unsubscribe", False
    if name == "bounce" and str(ev.get("type", "bounce")) == "bounce":
        return "bounce", True
    if name == "dropped":
        reason = str(ev.get("reason", "")).lower()
        for needle, kind in DROPPED_SUPPRESS:
            if needle in reason:
                return kind, True
    return None


def sendgrid_problem(events: Any) -> str | None:
    """Why this is not a SendGrid event batch we can apply (checked before any is applied)."""
    if not isinstance(events, list):
        return "a SendGrid event webhook body is a JSON array of events"
    for ev in events:
        if not isinstance(ev, dict) or "event" not in ev or "timestamp" not in ev:
            return "each SendGrid event needs 'event' and 'timestamp'"
        if not str(ev["timestamp"]).isdigit():
            return "a SendGrid event timestamp is epoch seconds"
    return None


def sendgrid_events(engine: Engine, body: bytes, *, webhook_id: int, now: datetime) -> Applied:
    """Apply a verified SendGrid Event Webhook body (a JSON array of events)."""
    events = json.loads(body)
    if not isinstance(events, list):
        raise ValueError("a SendGrid event webhook body is a JSON array of events")
    problem = sendgrid_problem(events)
    if problem:
        raise ValueError(problem)
    out = Applied()
    for ev in events:
        out.events += 1
        with engine.begin() as conn:
            effect = _sendgrid_event(conn, ev, webhook_id, now)
        if effect is None:
            out.duplicates += 1
        else:
            out.new += 1
            out.effects.append(effect)
    return out


def _sendgrid_event(
    conn: Connection, ev: dict[str, Any], webhook_id: int, now: datetime
) -> str | None:
    name = str(ev["event"])
    at = datetime.fromtimestamp(int(ev["timestamp"]), UTC)
    message_id = str(ev.get("sg_message_id") or ev.get("smtp-id") or "") or None
    email = str(ev.get("email") or "")
    hashed = recipient_hash(email) if email else None
    key = str(ev.get("send_key") or "") or None
    event_id = _new_event(
        conn,
        {
            "provider": "sendgrid",
            "dedupe_key": _digest("sendgrid", message_id or hashed, name, int(ev["timestamp"])),
            "provider_event_id": str(ev.get("sg_event_id") or "") or None,
            "message_id": message_id,
            "send_key": key,
            "event": name,
            "error_code": str(ev.get("status") or "") or None,
            "recipient_hash": hashed,
            "occurred_at": at,
            "received_at": now,
            "webhook_id": webhook_id,
        },
    )
    if event_id is None:
        return None
    ledger_row = _ledger_row(conn, key, message_id.split(".")[0] if message_id else None)
    effect = _reconcile(conn, ledger_row, "sendgrid", name, at)
    if ledger_row is not None and name in SENDGRID_RANK:
        effect += _status(
            conn,
            ledger_row.send_key,
            "sendgrid",
            message_id,
            name,
            SENDGRID_RANK[name],
            str(ev.get("status") or "") or None,
            at,
        )
    change = _sendgrid_suppression(ev)
    if change and hashed:
        kind, active = change
        moved = suppressions.record(
            conn,
            channel="email",
            recipient_hash=hashed,
            kind=kind,
            active=active,
            source="sendgrid_event",
            reason=f"sendgrid {name}",
            changed_at=at,
        )
        effect += (
            f"suppression {kind} {'on' if active else 'off'}"
            if moved
            else (f"suppression {kind} unchanged (a newer change stands)")
        )
    _set_effect(conn, event_id, effect)
    return effect


# -- Twilio status callbacks and inbound SMS ---------------------------------------------


def twilio_status(
    engine: Engine,
    params: dict[str, str],
    *,
    send_key: str | None,
    webhook_id: int,
    now: datetime,
    retry_delay: timedelta,
) -> Applied:
    """Apply a verified Twilio message status callback."""
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    if not sid or not status:
        raise ValueError("a Twilio status callback needs MessageSid and MessageStatus")
    code = params.get("ErrorCode") or None
    out = Applied(events=1)
    with engine.begin() as conn:
        event_id = _new_event(
            conn,
            {
                "provider": "twilio",
                "dedupe_key": _digest("twilio", sid, status, code or ""),
                "provider_event_id": None,
                "message_id": sid,
                "send_key": send_key,
                "event": status,
                "error_code": code,
                "recipient_hash": recipient_hash(params["To"]) if params.get("To") else None,
                "occurred_at": now,
                "received_at": now,
                "webhook_id": webhook_id,
            },
        )
        if event_id is None:
            out.duplicates = 1
            return out
        effect = _twilio_effects(conn, params, sid, status, code, send_key, now, retry_delay)
        _set_effect(conn, event_id, effect)
    out.new = 1
    out.effects.append(effect)
    return out


def _twilio_effects(
    conn: Connection,
    params: dict[str, str],
    sid: str,
    status: str,
    code: str | None,
    send_key: str | None,
    now: datetime,
    retry_delay: timedelta,
) -> str:
    ledger_row = _ledger_row(conn, send_key, sid)
    if ledger_row is None:
        return "no ledger row for this message"
    current = ledger_row.provider_message_id
    if ledger_row.state == "pending":
        return f"ignored: the key awaits a retry; {sid} was an earlier attempt"
    if current and current != sid and ledger_row.state != "unknown":
        return f"ignored: for an earlier attempt ({sid}), the key's message is now {current}"
    effect = _reconcile(conn, ledger_row, "twilio", status, now)
    if not current:
        t = schema.send_ledger
        conn.execute(
            update(t).where(t.c.send_key == ledger_row.send_key).values(provider_message_id=sid)
        )
    if status in TWILIO_RANK:
        effect += _status(
            conn, ledger_row.send_key, "twilio", sid, status, TWILIO_RANK[status], code, now
        )
    number = params.get("To")
    error = int(code) if code and code.isdigit() else None
    if status in ("failed", "undelivered") and error is not None:
        if error == RETRY_ONCE_CODE:
            effect += _retry_once(conn, ledger_row, now + retry_delay)
        elif error in TWILIO_SUPPRESS and number:
            kind = TWILIO_SUPPRESS[error]
            suppressions.record(
                conn,
                channel="sms",
                recipient_hash=recipient_hash(number),
                kind=kind,
                active=True,
                source="twilio_status",
                reason=f"twilio error {error}",
                changed_at=now,
            )
            effect += f"suppression {kind} on"
    return effect


def _retry_once(conn: Connection, ledger_row: Any, when: datetime) -> str:
    """Error 30003: the handset was unreachable; one delayed retry, never a second."""
    if (ledger_row.retries or 0) >= 1:
        return "no retry: the one delayed retry was already used"
    t, ms = schema.send_ledger, schema.message_status
    moved = conn.execute(
        update(t)
        .where(t.c.send_key == ledger_row.send_key, t.c.state == "sent")
        .values(
            state="pending",
            not_before=when,
            retries=(ledger_row.retries or 0) + 1,
            provider_message_id=None,
            updated_at=datetime.now(UTC),
            last_error=f"twilio 30003: one retry not before {when.isoformat()}",
        )
    ).rowcount
    if not moved:
        return "no retry: the key is not in state sent"
    conn.execute(
        update(ms)
        .where(ms.c.send_key == ledger_row.send_key)
        .values(status="retry_scheduled", rank=0)
    )
    return f"retry scheduled not before {when.isoformat()}"


def twilio_inbound(
    engine: Engine, params: dict[str, str], *, webhook_id: int, now: datetime
) -> tuple[str | None, Applied]:
    """Apply an inbound SMS; returns its keyword (opt_out | opt_in | help | None)."""
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    number = params.get("From") or ""
    if not sid or not number:
        raise ValueError("an inbound Twilio message needs MessageSid and From")
    word = keyword(params.get("Body", ""))
    hashed = recipient_hash(number)
    out = Applied(events=1)
    with engine.begin() as conn:
        event_id = _new_event(
            conn,
            {
                "provider": "twilio",
                "dedupe_key": _digest("twilio", "inbound", sid),
                "provider_event_id": None,
                "message_id": sid,
                "send_key": None,
                "event": f"inbound:{word or 'other'}",
                "error_code": None,
                "recipient_hash": hashed,
                "occurred_at": now,
                "received_at": now,
                "webhook_id": webhook_id,
            },
        )
        if event_id is None:
            out.duplicates = 1
            return word, out
        effect = "none"
        if word in ("opt_out", "opt_in"):
            active = word == "opt_out"
            suppressions.record(
                conn,
                channel="sms",
                recipient_hash=hashed,
                kind="opt_out",
                active=active,
                source="twilio_inbound",
                reason="replied " + ("STOP" if active else "START"),
                changed_at=now,
            )
            effect = f"suppression opt_out {'on' if active else 'off'}"
        _set_effect(conn, event_id, effect)
    out.new = 1
    out.effects.append(effect)
    return word, out


def one_click_unsubscribe(
    engine: Engine, send_key: str, *, webhook_id: int, now: datetime
) -> Applied:
    """RFC 8058 one-click: the recipient of ``send_key``'s message leaves that channel."""
    t = schema.send_ledger
    out = Applied(events=1)
    with engine.begin() as conn:
        row = conn.execute(
            select(t.c.channel, t.c.recipient_hash).where(t.c.send_key == send_key)
        ).first()
        if row is None:
            raise LookupError("no message for this unsubscribe link")
        event_id = _new_event(
            conn,
            {
                "provider": "oasis",
                "dedupe_key": _digest("oasis", "unsubscribe", send_key),
                "provider_event_id": None,
                "message_id": None,
                "send_key": send_key,
                "event": "one_click_unsubscribe",
                "error_code": None,
                "recipient_hash": row.recipient_hash,
                "occurred_at": now,
                "received_at": now,
                "webhook_id": webhook_id,
            },
        )
        if event_id is None:
            out.duplicates = 1
            return out
        suppressions.record(
            conn,
            channel=row.channel,
            recipient_hash=row.recipient_hash,
            kind="unsubscribe",
            active=True,
            source="one_click",
            reason="one-click unsubscribe",
            changed_at=now,
        )
        _set_effect(conn, event_id, "suppression unsubscribe on")
    out.new = 1
    return out
