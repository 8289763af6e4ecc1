"""``oasis preview ORDER_ID``: what that order's customer would get, as of the latest run.

The latest run's notice about the order is rendered again from its stored facts, per
channel the customer can be reached on, with the gate's verdict on it (published,
quarantined with the rules it broke, blocked with the batch's reasons, or already sent).
When no notice names the order, the answer says why: the decisions the run recorded about
it (suppressed, no channel, ...), or that no delay episode touches it. ``--locale``
renders the same facts in another language (to review a translation); ``--out`` writes
the files (subject, HTML, text, SMS) instead of printing them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from notify.config import Settings
from notify.render import CHANNELS, RenderedMessage, RenderError, render, supported_languages
from notify.store import schema


@dataclass
class ChannelPreview:
    channel: str
    message: RenderedMessage | None
    verdict: str  # what the run decided for this message
    error: str | None = None  # why it cannot be rendered


@dataclass
class Preview:
    order_id: str
    run_id: str | None
    as_of: str | None
    notice_id: str | None = None
    customer_id: str | None = None
    locale: str | None = None
    channels: list[ChannelPreview] = field(default_factory=list)
    nothing_because: list[str] = field(default_factory=list)  # why nothing would be sent
    written: list[Path] = field(default_factory=list)


def _latest_run(engine: Engine) -> Any:
    t = schema.runs
    with engine.connect() as conn:
        return conn.execute(select(t).order_by(t.c.started_at.desc()).limit(1)).first()


def _notice(engine: Engine, run_id: str, order_id: str) -> Any:
    rn, np, n = schema.run_notices, schema.notice_parcels, schema.notices
    with engine.connect() as conn:
        return conn.execute(
            select(n.c.notice_id, n.c.customer_id, n.c.facts, rn.c.channels)
            .join(rn, rn.c.notice_id == n.c.notice_id)
            .join(np, np.c.notice_id == n.c.notice_id)
            .where(rn.c.run_id == run_id, np.c.order_id == order_id)
            .order_by(n.c.notice_id)
            .limit(1)
        ).first()


def _order_decisions(engine: Engine, run_id: str, order_id: str) -> list[Any]:
    d = schema.decisions
    with engine.connect() as conn:
        rows = conn.execute(
            select(d).where(d.c.run_id == run_id, d.c.order_ids.like(f'%"{order_id}"%'))
        ).all()
    return [r for r in rows if order_id in json.loads(r.order_ids)]


def _verdicts(engine: Engine, run_id: str, notice_id: str) -> dict[str, str]:
    """Per channel: the latest thing the run decided about this notice's message."""
    ob, d = schema.outbox, schema.decisions
    verdicts: dict[str, str] = {}
    with engine.connect() as conn:
        for row in conn.execute(
            select(ob.c.channel, ob.c.state, ob.c.reasons).where(
                ob.c.run_id == run_id, ob.c.notice_id == notice_id
            )
        ):
            reasons = "; ".join(json.loads(row.reasons))
            verdicts[row.channel] = f"{row.state} ({reasons})" if reasons else row.state
        for row in conn.execute(
            select(d.c.channel, d.c.decision, d.c.reason).where(
                d.c.run_id == run_id,
                d.c.notice_id == notice_id,
                d.c.decision.in_(("sent", "deferred", "suppressed")),
            )
        ):
            verdicts[row.channel] = f"{row.decision} ({row.reason})"
    return verdicts


def _check_options(settings: Settings, channel: str | None, locale: str | None) -> None:
    if channel is not None and channel not in CHANNELS:
        raise ValueError(f"channel {channel!r} is not one of {', '.join(CHANNELS)}")
    if locale is not None:
        language = locale.replace("_", "-").split("-")[0].lower()
        known = supported_languages(settings.templates_dir)
        if language not in known:
            raise ValueError(f"no wording for locale {locale!r} (have: {', '.join(known)})")


def _render_channels(
    out: Preview, facts: dict[str, Any], chosen: list[str], verdicts: dict[str, str],
    channel: str | None, settings: Settings,
) -> None:  # fmt: skip
    for name in [channel] if channel else chosen:
        if name not in chosen:
            out.nothing_because.append(
                f"no {name} message: this customer is reached by {', '.join(chosen)} only"
            )
            continue
        try:
            message = render(facts, name, templates_dir=settings.templates_dir)
        except RenderError as exc:
            out.channels.append(ChannelPreview(name, None, verdicts.get(name, "-"), str(exc)))
            continue
        out.channels.append(ChannelPreview(name, message, verdicts.get(name, "not rendered yet")))


def preview(
    engine: Engine,
    order_id: str,
    *,
    settings: Settings,
    channel: str | None = None,
    locale: str | None = None,
) -> Preview:
    """Render what the order's customer would get from the latest run (nothing is sent)."""
    _check_options(settings, channel, locale)
    with engine.connect() as conn:
        order = conn.execute(
            select(schema.orders).where(schema.orders.c.order_id == order_id)
        ).first()
    run = _latest_run(engine)
    out = Preview(order_id, run.run_id if run else None, run.as_of.isoformat() if run else None)
    if order is None:
        out.nothing_because.append(f"no order {order_id!r} in the store")
        return out
    if run is None:
        out.nothing_because.append("no run yet: run `oasis run` or `oasis demo` first")
        return out
    notice = _notice(engine, run.run_id, order_id)
    if notice is None or not notice.facts:
        decided = _order_decisions(engine, run.run_id, order_id)
        out.nothing_because += [f"{r.decision}: {r.reason}" for r in decided] or [
            f"no delay episode open as of {out.as_of} touches this order: nobody is told anything"
        ]
        return out
    facts = json.loads(notice.facts)
    if locale is not None:
        facts["locale"] = locale
    out.notice_id, out.customer_id, out.locale = (
        notice.notice_id,
        notice.customer_id,
        facts["locale"],
    )
    verdicts = _verdicts(engine, run.run_id, notice.notice_id)
    _render_channels(out, facts, json.loads(notice.channels), verdicts, channel, settings)
    return out


def write_files(result: Preview, folder: Path) -> list[Path]:
    """One file per part: ORDER.email.subject.txt, .email.html, .email.txt, .sms.txt."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for item in result.channels:
        if item.message is None:
            continue
        stem = folder / f"{result.order_id}.{item.channel}"
        parts = {".txt": item.message.text}
        if item.channel == "email":
            parts |= {".subject.txt": f"{item.message.subject}\n", ".html": item.message.html or ""}
        for suffix, content in parts.items():
            path = Path(f"{stem}{suffix}")
            path.write_text(content, "utf-8")
            written.append(path)
    result.written = written
    return written


def format_preview(result: Preview, *, show_bodies: bool = True) -> str:
    """The preview as plain text for a terminal."""
    lines = [f"Order {result.order_id}, latest run {result.run_id or '-'} (as of {result.as_of})"]
    if result.notice_id:
        lines.append(
            f"Notice {result.notice_id} to customer {result.customer_id}, locale {result.locale}"
        )
    for item in result.channels:
        lines.append("")
        lines.append(f"== {item.channel} ({item.verdict})")
        if item.message is None:
            lines.append(f"cannot be rendered: {item.error}")
            continue
        if item.channel == "sms":
            lines.append(f"SMS segments: {item.message.sms_segments} ({item.message.encoding})")
        if item.message.subject is not None:
            lines.append(f"Subject: {item.message.subject}")
        if show_bodies:
            lines.append("")
            lines.append(item.message.text.rstrip("\n"))
    if result.nothing_because:
        lines.append("")
        lines.append("Nothing is sent for this order:" if not result.channels else "Note:")
        lines += [f"- {reason}" for reason in result.nothing_because]
    if result.written:
        lines.append("")
        lines += [f"wrote {path}" for path in result.written]
    return "\n".join(lines) + "\n"
