"""One call per DAG task: each opens the store, reads the run, runs one stage, records it.

Tasks hand each other the run id only (through XCom), never data. Every function here is
safe to re-run for the same run: it recomputes its stage's rows for that run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy.engine import Engine

from carriers import registry
from notify import modes
from notify.channels.base import Channel
from notify.channels.file import FileChannel
from notify.config import Settings, carrier_client_settings, load_settings, sandbox_client_settings
from notify.orders import load_order_files
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
    if run.params.get("orders_dir"):
        loaded = load_order_files(engine, Path(run.params["orders_dir"]), run_id)
        summary["orders"] = {"loaded": loaded.loaded, "rejected": loaded.rejected}
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


def detect_step(run_id: str) -> dict[str, Any]:
    _, engine = _store()
    run = get_run(engine, run_id)
    result = detect.detect(engine, run_id=run_id, as_of=run.as_of).to_dict()
    add_summary(engine, run_id, "detect", result)
    return result


def eta_step(run_id: str) -> dict[str, Any]:
    _, engine = _store()
    run = get_run(engine, run_id)
    result = eta.predict(engine, run_id=run_id, as_of=run.as_of).to_dict()
    add_summary(engine, run_id, "eta", result)
    return result


def target_step(run_id: str) -> dict[str, Any]:
    _, engine = _store()
    run = get_run(engine, run_id)
    result = target.target(engine, run_id=run_id, as_of=run.as_of).to_dict()
    add_summary(engine, run_id, "target", result)
    return result


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


def channels(settings: Settings) -> dict[str, Channel]:
    file_channel = FileChannel(settings.outbox_dir, settings.sender_email, settings.brand_name)
    return {"email": file_channel, "sms": file_channel}


def send_step(run_id: str) -> dict[str, Any]:
    settings, engine = _store()
    run = get_run(engine, run_id)
    result = send.send(engine, run=run, channels=channels(settings)).to_dict()
    add_summary(engine, run_id, "send", result)
    return result


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
    "ingest": ingest_step,
    "detect": detect_step,
    "eta": eta_step,
    "target": target_step,
    "compose": compose_step,
    "render": render_step,
    "gate": gate_step,
    "release": release_step,
    "send": send_step,
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
