"""Pipeline benchmark: generate a world of N orders and time every stage separately.

    python -m bench [--orders 100000] [--seed 7] [--database-url URL] [--ingest http|direct]

Prints a table and writes ``bench/results/pipeline-<orders>-<database>.json`` (seconds,
rows/s, peak resident memory per stage; database: sqlite or postgresql). ``--ingest direct``
encodes each carrier's answers with its sandbox codec, spools them to a file next to the
world (so a million orders' payloads never sit in memory at once) and times parsing +
storing them; ``http`` polls a local sandbox server with the real clients (slower, includes
HTTP). Talks only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.measure import Step, measured, scratch_dir

RESULTS = Path(__file__).resolve().parent / "results"
console = Console()


def _dag_import_seconds(warm: bool) -> float:
    """Seconds to import the DAG file in a fresh interpreter.

    ``warm``: with ``airflow.sdk`` already imported, as in Airflow's DAG processor, so only
    the file's own cost is counted; otherwise including Airflow's import.
    """
    code = (
        ("import airflow.sdk;" if warm else "")
        + "import time,importlib.util,sys;t=time.perf_counter();"
        "s=importlib.util.spec_from_file_location('d','dags/delivery_notifications.py');"
        "m=importlib.util.module_from_spec(s);s.loader.exec_module(m);"
        "print(time.perf_counter()-t)"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         check=True)  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


def _direct_payloads(world_dir: Path, as_of: datetime) -> Iterator[Any]:
    """Every active parcel's tracking, encoded by its carrier's sandbox codec (FedEx: 30/body)."""
    from bench.parse import batch_size
    from carriers import registry
    from carriers.sandbox import SandboxWorld
    from notify.stages.ingest import Payload

    world = SandboxWorld.load(world_dir)
    for carrier in world.carriers:
        spec = registry.get(carrier)
        if spec.sandbox is None:
            continue
        size = batch_size(carrier)
        numbers = world.tracking_numbers(carrier)
        for i in range(0, len(numbers), size):
            found = [world.tracking(carrier, n, as_of) for n in numbers[i : i + size]]
            results = [r for r in found if r is not None]
            if results:
                _status, body = spec.sandbox.respond(results, [])
                yield Payload(body, "api", f"{carrier}:bench", carrier)


_RECORD = struct.Struct(">HHI")  # carrier, origin_ref, body lengths


def _spool(payloads: Iterator[Any], path: Path) -> int:
    """Write each payload to ``path`` (length-prefixed records); returns how many."""
    count = 0
    with path.open("wb") as out:
        for p in payloads:
            carrier, ref = (p.carrier or "").encode(), p.origin_ref.encode()
            out.write(_RECORD.pack(len(carrier), len(ref), len(p.body)))
            out.write(carrier + ref + p.body)
            count += 1
    return count


def _unspool(path: Path) -> Iterator[Any]:
    """The payloads ``_spool`` wrote, read back one at a time."""
    from notify.stages.ingest import Payload

    with path.open("rb") as spool:
        while header := spool.read(_RECORD.size):
            carrier_len, ref_len, body_len = _RECORD.unpack(header)
            carrier, ref = spool.read(carrier_len).decode(), spool.read(ref_len).decode()
            yield Payload(spool.read(body_len), "api", ref, carrier or None)


class Recorded(list[Step]):
    """The steps so far, handed to ``save`` after each one: a run that fails late (out of
    memory in a later stage at a million orders) keeps the figures it measured."""

    def __init__(self, save: Callable[[list[Step]], None] | None = None) -> None:
        super().__init__()
        self._save = save

    def append(self, step: Step) -> None:
        super().append(step)
        if self._save is not None:
            self._save(list(self))


def run(
    orders: int,
    seed: int,
    database_url: str | None,
    ingest_mode: str,
    save: Callable[[list[Step]], None] | None = None,
) -> list[Step]:
    with scratch_dir("oasis-bench-") as work:
        return _run(work, orders, seed, database_url, ingest_mode, save)


def _run(
    work: Path,
    orders: int,
    seed: int,
    database_url: str | None,
    ingest_mode: str,
    save: Callable[[list[Step]], None] | None,
) -> list[Step]:
    from sqlalchemy import func, select

    from notify.config import load_settings
    from notify.orders import load_order_files
    from notify.pipeline import channels
    from notify.runs import begin_run
    from notify.simulate import generate_world
    from notify.stages import compose, detect, eta, gating, ingest, messages, send, target
    from notify.store import open_store, schema

    steps = Recorded(save)
    with measured("simulate") as step:
        summary = generate_world(work / "world", orders=orders, seed=seed)
    step.rows = orders
    steps.append(step)
    as_of = summary.demo_as_of
    url = database_url or f"sqlite:///{work / 'oasis.db'}"
    engine = open_store(url)
    settings = load_settings()
    run_id = f"bench-{orders}"
    run = begin_run(engine, run_id=run_id, as_of=as_of, mode="send", params={})

    with measured("load orders") as step:
        loaded = load_order_files(engine, work / "world" / "orders", run_id)
    step.rows = sum(loaded.loaded.values())
    steps.append(step)

    spool = work / "payloads.spool"
    if ingest_mode == "direct":
        with measured("encode payloads (codecs)") as step:
            step.rows = _spool(_direct_payloads(work / "world", as_of), spool)
        steps.append(step)
    with measured(f"ingest ({ingest_mode})") as step:
        if ingest_mode == "http":
            from carriers import registry
            from carriers.sandbox import SandboxServer, SandboxWorld
            from notify.config import carrier_client_settings

            with SandboxServer(SandboxWorld.load(work / "world")) as server:
                base = server.url_for(as_of)

                def client_for(carrier: str) -> Any:
                    make = registry.get(carrier).make_client
                    assert make is not None
                    return make(carrier_client_settings(carrier, base))

                result = ingest.poll_carriers(engine, run_id=run_id, as_of=as_of,
                                              carriers=["fedex", "ups", "usps", "dhl"],
                                              client_for=client_for)  # fmt: skip
        else:
            result = ingest.ingest_payloads(engine, _unspool(spool), run_id=run_id,
                                            stated_at=as_of)  # fmt: skip
    step.rows = result.new_events
    step.detail = {"payloads": result.payloads, "results": result.results}
    steps.append(step)

    stage_calls = [
        ("detect", lambda: detect.detect(engine, run_id=run_id, as_of=as_of),
         lambda r: r.open_episodes),
        ("eta", lambda: eta.predict(engine, run_id=run_id, as_of=as_of),
         lambda r: r.predicted + r.unknown),
        ("target", lambda: target.target(engine, run_id=run_id, as_of=as_of),
         lambda r: r.candidates),
        ("compose", lambda: compose.compose(engine, run_id=run_id, settings=settings),
         lambda r: r.notices),
        ("render", lambda: messages.stage_messages(engine, run_id=run_id,
                                                  templates=settings.templates_dir),
         lambda r: r.staged + r.render_errors),
        ("gate", lambda: gating.gate(engine, run=run, settings=settings,
                                     open_shipments=orders), lambda r: r.rows),
        ("send (file channel)", lambda: send.send(engine, run=run, channels=channels(settings)),
         lambda r: r.sent + r.already_sent),
    ]  # fmt: skip
    for name, call, rows in stage_calls:
        with measured(name) as step:
            result = call()
        step.rows = rows(result)
        step.detail = result.to_dict() if hasattr(result, "to_dict") else {}
        steps.append(step)
    with engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(schema.tracking_events)).scalar()
    engine.dispose()
    steps[0].detail = {"scans_in_store": events}
    steps.append(Step("dag file import, airflow loaded", rows=1, seconds=_dag_import_seconds(True)))
    steps.append(Step("dag file import, cold", rows=1, seconds=_dag_import_seconds(False)))
    return steps


def database_name(url: str | None) -> str:
    """``sqlite`` (the default store) or the URL's backend name, for the results file."""
    if url is None:
        return "sqlite"
    from sqlalchemy.engine import make_url

    return make_url(url).get_backend_name()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--ingest", choices=["direct", "http"], default="direct")
    args = parser.parse_args(argv)
    database = database_name(args.database_url)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"pipeline-{args.orders}-{database}.json"

    def save(steps: list[Step], complete: bool = False) -> None:
        out.write_text(json.dumps({"orders": args.orders, "seed": args.seed,
                                   "ingest": args.ingest, "database": database,
                                   "complete": complete,
                                   "steps": [s.to_dict() for s in steps]}, indent=2))  # fmt: skip

    steps = run(args.orders, args.seed, args.database_url, args.ingest, save)
    table = Table(title=f"Oasis pipeline, {args.orders:,} orders, {database}")
    for column in ("step", "rows", "seconds", "rows/s", "peak RSS MB"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for s in steps:
        table.add_row(s.name, f"{s.rows:,}", f"{s.seconds:.2f}", f"{s.rows_per_second:,.0f}",
                      f"{s.peak_rss_mb:,.0f}")  # fmt: skip
    console.print(table)
    save(steps, complete=True)
    console.print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
