"""One call per DAG task: each opens the store, reads the run, runs one stage, records it.

Tasks hand each other the run id only (through XCom), never data. Every function here is
safe to re-run for the same run: it recomputes its stage's rows for that run.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy.engine import Engine

from carriers import registry
from notify import modes
from notify.channels.base import Channel
from notify.config import (
    DeliverySettings,
    Settings,
    carrier_client_settings,
    load_delivery_settings,
    load_settings,
    sandbox_client_settings,
)
from notify.config import send_pool as config_send_pool
from notify.orders import load_order_files
from notify.rules import rules_for
from notify.runs import Run, add_summary, begin_run, get_run
from notify.stages import compose, detect, eta, gating, ingest, messages, record, send, target
from notify.store import open_store

log = logging.getLogger(__name__)


def _store(settings: Settings | None = None) -> tuple[Settings, Engine]:
    settings = settings or load_settings()
    return settings, open_store(settings.database_url)


def parse_as_of(value: str | None, fallback: datetime | None) -> datetime:
    if value:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if at.tzinfo is None:
            raise ValueError(f"as_of {value!r} has no UTC offset; write e.g. {value}+00:00")
        return at.astimezone(UTC)
    return (fallback or datetime.now(UTC)).astimezone(UTC)


def begin(
    run_id: str,
    params: dict[str, Any],
    fallback_as_of: datetime | None = None,
    run_type: str | None = None,
) -> str:
    """Create (or reset) the run row; returns the run id for the next tasks.

    ``run_type`` is how Airflow started the run: a backfill is replay-only (``notify.modes``).
    """
    _, engine = _store()
    choice = modes.choose(params, run_type)
    as_of = parse_as_of(params.get("as_of"), fallback_as_of)
    run = begin_run(engine, run_id=run_id, as_of=as_of, mode=choice.mode, params=choice.params)
    log.info("run %s: as_of=%s mode=%s", run.run_id, run.as_of.isoformat(), run.mode)
    for note in choice.notes:
        log.info("run %s: %s", run.run_id, note)
    return run.run_id


def _client_for(run: Run) -> Any:
    sandbox = run.params.get("sandbox_url")

    def client_for(carrier: str) -> registry.TrackingClient:
        spec = registry.get(carrier)
        if spec.make_client is None:
            raise LookupError(f"carrier {carrier!r} has no API client; use a tracking drop folder")
        if not sandbox:
            return spec.make_client(carrier_client_settings(carrier))
        # The sandbox accepts any credentials; the as-of prefix picks the world's moment.
        base = f"{sandbox.rstrip('/')}/asof/{quote(run.as_of.isoformat(), safe='')}"
        return spec.make_client(sandbox_client_settings(base))

    return client_for


def ingest_step(run_id: str) -> dict[str, Any]:
    settings, engine = _store()
    run = get_run(engine, run_id)
    summary: dict[str, Any] = {}
    if "orders" not in run_summary_of(engine, run_id):  # not loaded by an orders step already
        orders = load_orders(engine, run)
        if orders is not None:
            summary["orders"] = orders
    result = ingest.IngestResult()
    if run.params.get("tracking_dir"):
        folder = Path(run.params["tracking_dir"])
        result.add(ingest.ingest_tracking_dir(engine, folder, run_id=run_id, as_of=run.as_of))
    if run.params.get("sandbox_url") or run.params.get("poll_carriers"):
        carriers = run.params.get("carriers") or list(settings.carriers)
        polled = ingest.poll_carriers(
            engine, run_id=run_id, as_of=run.as_of, carriers=carriers, client_for=_client_for(run)
        )
        result.add(polled)
    summary["tracking"] = result.to_dict()
    add_summary(engine, run_id, "ingest", summary)
    return summary


def load_orders(engine: Engine, run: Run) -> dict[str, Any] | None:
    """The run's orders: its order folder (``orders_dir``), else the configured order source
    (``OASIS_ORDER_SOURCE``: a shop database read incrementally, or a folder); None when
    there is neither. ``orders_full_refresh`` in the run's params re-reads the whole shop."""
    from notify.sources import FileSource, configured_source

    if run.params.get("orders_dir"):
        folder = Path(run.params["orders_dir"])
        loaded = load_order_files(engine, folder, run.run_id)
        return {"kind": "files", "loaded": loaded.loaded, "rejected": loaded.rejected}
    source = configured_source()
    if source is None:
        return None
    full = bool(run.params.get("orders_full_refresh"))
    result = source.extract(engine, run_id=run.run_id, full_refresh=full)
    if isinstance(source, FileSource):
        return {"kind": "files", **result}
    return dict(result.to_dict())


def run_summary_of(engine: Engine, run_id: str) -> dict[str, Any]:
    from sqlalchemy import select

    from notify.store import schema

    with engine.connect() as conn:
        raw = conn.execute(
            select(schema.runs.c.summary).where(schema.runs.c.run_id == run_id)
        ).scalar_one()
    summary: dict[str, Any] = json.loads(raw)
    return summary


def orders_step(run_id: str) -> dict[str, Any]:
    """Load the run's orders on their own (a DAG task before ingest; ingest then skips it)."""
    _, engine = _store()
    run = get_run(engine, run_id)
    result = load_orders(engine, run)
    if result is None:
        result = {"kind": None, "note": "no orders_dir and no OASIS_ORDER_SOURCE: nothing loaded"}
    add_summary(engine, run_id, "orders", result)
    return result


def detect_step(run_id: str) -> dict[str, Any]:
    settings, engine = _store()
    run = get_run(engine, run_id)
    rules = rules_for(settings)
    result = detect.detect(engine, run_id=run_id, as_of=run.as_of, rules=rules).to_dict()
    add_summary(engine, run_id, "detect", result)
    return result


def eta_step(run_id: str) -> dict[str, Any]:
    settings, engine = _store()
    run = get_run(engine, run_id)
    rules = rules_for(settings)
    result = eta.predict(engine, run_id=run_id, as_of=run.as_of, rules=rules).to_dict()
    add_summary(engine, run_id, "eta", result)
    return result


def target_step(run_id: str) -> dict[str, Any]:
    _, engine = _store()
    run = get_run(engine, run_id)
    result = target.target(engine, run_id=run_id, as_of=run.as_of).to_dict()
    add_summary(engine, run_id, "target", result)
    return result


def escalate_step(run_id: str) -> dict[str, Any]:
    """Hand open cases to the help desk (context, export, status); after ``send``."""
    from notify.cases import escalate
    from notify.config import helpdesk_settings
    from notify.helpdesk import make_helpdesk

    _, engine = _store()
    result = escalate(engine, run_id=run_id, helpdesk=make_helpdesk(helpdesk_settings()))
    add_summary(engine, run_id, "escalate", result.to_dict())
    return result.to_dict()


def compose_step(run_id: str) -> dict[str, Any]:
    settings, engine = _store()
    result = compose.compose(engine, run_id=run_id, settings=settings).to_dict()
    add_summary(engine, run_id, "compose", result)
    return result


def render_step(run_id: str) -> dict[str, Any]:
    settings, engine = _store()
    result = messages.stage_messages(
        engine, run_id=run_id, templates=settings.templates_dir
    ).to_dict()
    add_summary(engine, run_id, "render", result)
    return result


def gate_step(run_id: str) -> dict[str, Any]:
    settings, engine = _store()
    run = get_run(engine, run_id)
    open_shipments = sum(len(v) for v in ingest.active_tracking(engine, run.as_of).values())
    result = gating.gate(engine, run=run, settings=settings, open_shipments=open_shipments)
    add_summary(engine, run_id, "gate", result.to_dict())
    return result.to_dict()


def channels(
    settings: Settings, delivery: DeliverySettings | None = None, only: str | None = None
) -> dict[str, Channel]:
    """The configured channel per message kind (OASIS_EMAIL_PROVIDER / OASIS_SMS_PROVIDER)."""
    from notify.channels.providers import build_channels

    return build_channels(settings, delivery or load_delivery_settings(settings), only)


class SendHalted(RuntimeError):
    """The send task stopped early (credentials refused, provider down, rate limited):
    what was not sent is kept pending; the failed task is the alert."""


def send_step(
    run_id: str, shard: int = 0, shards: int = 1, channel: str | None = None
) -> dict[str, Any]:
    """Send one shard of a run's published messages (all of them with the defaults).

    Raises :class:`SendHalted` after recording its numbers when the run could not finish.
    """
    settings, engine = _store()
    delivery = load_delivery_settings(settings)
    run = get_run(engine, run_id)
    result = send.send(
        engine,
        run=run,
        channels=channels(settings, delivery, channel) if run.sends else {},
        policy=send.SendPolicy.from_settings(delivery),
        shard=shard,
        shards=shards,
        channel=channel,
    ).to_dict()
    label = "all" if shards == 1 and channel is None else f"{channel or 'all'}:{shard}/{shards}"
    send.add_send_summary(engine, run_id, label, result)
    if result["stopped"]:
        raise SendHalted(f"run {run_id} send {label}: {result['stopped']}")
    return result


def send_shards(run_id: str, channel: str | None = None) -> list[dict[str, Any]]:
    """Keyword arguments for each mapped send task of a run (``send_step(**kwargs)``).

    One entry per (channel with published messages, shard), ``OASIS_SEND_SHARDS`` shards per
    channel; never empty (a run with nothing published still gets one task, which records
    nothing), so a mapped task always has at least one instance.
    """
    from sqlalchemy import select

    from notify.store import schema

    settings, engine = _store()
    shards = load_delivery_settings(settings).send_shards
    ob = schema.outbox
    if channel:
        kinds = [channel]
    else:
        with engine.connect() as conn:
            kinds = sorted(
                conn.execute(
                    select(ob.c.channel)
                    .where(ob.c.run_id == run_id, ob.c.state == "published")
                    .distinct()
                ).scalars()
            )
    if not kinds:
        return [{"run_id": run_id, "shard": 0, "shards": 1, "channel": None}]
    return [
        {"run_id": run_id, "shard": i, "shards": shards, "channel": kind}
        for kind in kinds
        for i in range(shards)
    ]


def send_pool(channel: str) -> str:
    """The Airflow pool of a channel's send tasks (``oasis_email_api``, ``oasis_sms_api``).

    The DAG names the same pools without importing ``notify`` (a test keeps them equal).
    """
    return config_send_pool(channel)


def record_step(run_id: str) -> dict[str, Any]:
    settings, engine = _store()
    run = get_run(engine, run_id)
    result = record.record(engine, run=run, settings=settings)
    return dict(result.__dict__)


def release_step(run_id: str) -> dict[str, Any]:
    """The last look before send: stale notices expire, unchosen channels are withheld."""
    from notify import release

    _, engine = _store()
    run = get_run(engine, run_id)
    result = release.release(engine, run=run).to_dict()
    add_summary(engine, run_id, "release", result)
    return result


def needs_approval(run_id: str) -> bool:
    """Whether the gate halted this run's batch and the run would send: a person decides."""
    from notify import approvals

    _, engine = _store()
    return approvals.needs_decision(engine, run_id)


def approval_review(run_id: str) -> str:
    """What the person deciding about a halted batch is shown (Markdown, counts only)."""
    from notify import approvals

    _, engine = _store()
    return approvals.review_markdown(engine, run_id)


def record_approval(run_id: str, response: dict[str, Any] | None) -> dict[str, Any] | None:
    """Apply the answer of the approval task (see ``notify.approvals.from_hitl``)."""
    from notify import approvals

    _, engine = _store()
    decided = approvals.from_hitl(engine, run_id, response)
    log.info("run %s: approval %s", run_id, decided.to_dict() if decided else "not given")
    return decided.to_dict() if decided else None


STEPS = {
    "orders": orders_step,
    "ingest": ingest_step,
    "detect": detect_step,
    "eta": eta_step,
    "target": target_step,
    "compose": compose_step,
    "render": render_step,
    "gate": gate_step,
    "release": release_step,
    "send": send_step,
    "escalate": escalate_step,
    "record": record_step,
}


def run_step(name: str, run_id: str) -> str:
    """Run one stage for a run (the body of a DAG task); returns the run id for the next."""
    result = STEPS[name](run_id)
    log.info("run %s: %s %s", run_id, name, result)
    return run_id


def begin_from_context(context: Any) -> str:
    """``begin`` from an Airflow task context: run id, params, and the fallback as-of.

    A scheduled run sees the world at the end of its data interval; a run triggered with
    no logical date falls back to ``run_after``.
    """
    dag_run = context["dag_run"]
    fallback = context.get("data_interval_end") or getattr(dag_run, "run_after", None)
    run_type = getattr(dag_run, "run_type", None)  # an Enum of str
    run_type = getattr(run_type, "value", run_type)
    return begin(str(context["run_id"]), dict(context["params"]), fallback, run_type)
