"""Render: every notice of the run, in every chosen channel, staged in the outbox.

A notice whose facts cannot be rendered (a missing fact is an error, never a fallback) is
staged as quarantined with the error as its reason, so nothing vague goes out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import TemplateError
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from notify import decisions
from notify.store import schema
from notify.store.ops import upsert


@dataclass
class RenderResult:
    staged: int = 0
    render_errors: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _recipient(facts: dict[str, Any], channel: str) -> str:
    customer = facts["customer"]
    return str(customer["email"] if channel == "email" else customer["phone"])


def _row(
    run_id: str, notice: Any, facts: dict[str, Any], channel: str, templates: Path
) -> dict[str, Any]:
    from notify.render import render

    base = {
        "run_id": run_id,
        "notice_id": notice.notice_id,
        "customer_id": notice.customer_id,
        "channel": channel,
        "recipient": _recipient(facts, channel),
    }
    try:
        message = render(facts, channel, templates_dir=templates)
    except (TemplateError, KeyError, ValueError, TypeError) as exc:
        return base | {
            "subject": None,
            "body_html": None,
            "body_text": "",
            "sms_segments": 0,
            "template_version": "",
            "state": "quarantined",
            "reasons": json.dumps([f"render_error: {type(exc).__name__}: {exc}"]),
        }
    return base | {
        "subject": message.subject,
        "body_html": message.html,
        "body_text": message.text,
        "sms_segments": message.sms_segments,
        "template_version": message.template_version,
        "state": "staged",
        "reasons": "[]",
    }


def stage_messages(engine: Engine, *, run_id: str, templates: Path) -> RenderResult:
    out = RenderResult()
    n, rn = schema.notices, schema.run_notices
    with engine.connect() as conn:
        notices = conn.execute(
            select(n.c.notice_id, n.c.customer_id, n.c.facts, rn.c.channels)
            .join(rn, rn.c.notice_id == n.c.notice_id)
            .where(rn.c.run_id == run_id)
            .order_by(n.c.notice_id)
        ).all()
    rows, refused = [], []
    for notice in notices:
        facts = json.loads(notice.facts)
        for channel in json.loads(notice.channels):
            row = _row(run_id, notice, facts, channel, templates)
            rows.append(row)
            out.by_channel[channel] = out.by_channel.get(channel, 0) + 1
            if row["state"] == "quarantined":
                out.render_errors += 1
                reason = json.loads(row["reasons"])[0]
                refused.append(decisions.for_notice(run_id, facts, channel, "quarantined", reason))
            else:
                out.staged += 1
    with engine.begin() as conn:
        conn.execute(delete(schema.outbox).where(schema.outbox.c.run_id == run_id))
        upsert(conn, schema.outbox, rows, ["run_id", "notice_id", "channel"])
        decisions.record(conn, refused)
    return out
