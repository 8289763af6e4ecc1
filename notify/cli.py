"""The ``oasis`` command line.

``oasis demo`` runs the whole pipeline on embedded defaults (simulated world, carrier
sandbox, SQLite, file channel) through the real Airflow DAG. See ``oasis --help``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from notify.config import Settings, load_settings

console = Console(stderr=False, highlight=False)


def _settings() -> Settings:
    return load_settings()


def _world(settings: Settings, orders: int, seed: int) -> Path:
    from notify.simulate import generate_world

    world = settings.home / f"world-{orders}-{seed}"
    if not (world / "world.json").exists():
        with console.status(f"Simulating a world of {orders} orders (seed {seed})..."):
            generate_world(world, orders=orders, seed=seed)
    return world


def _run_through_dag(settings: Settings, conf: dict[str, Any]) -> tuple[str, str]:
    from notify.airflow_local import run_dag

    with console.status("Running the delivery_notifications DAG (dag.test)..."):
        return run_dag(settings, conf)


def cmd_demo(args: argparse.Namespace) -> int:
    from carriers.sandbox import SandboxServer, SandboxWorld

    settings = _settings()
    world = _world(settings, args.orders, args.seed)
    meta = json.loads((world / "world.json").read_text("utf-8"))
    as_of = args.as_of or meta["demo_as_of"]
    with console.status("Starting the carrier sandbox on 127.0.0.1..."):
        server = SandboxServer(SandboxWorld.load(world))
    with server:
        conf = {
            "as_of": as_of,
            "orders_dir": str(world / "orders"),
            "sandbox_url": server.base_url,
            "carriers": ["fedex", "ups", "usps", "dhl"],
            "reason": "oasis demo",
        }
        run_id, state = _run_through_dag(settings, conf)
    return _print_summary(settings, run_id, state)


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings()
    conf: dict[str, Any] = {
        "as_of": args.as_of,
        "orders_dir": str(Path(args.orders).resolve()) if args.orders else None,
        "tracking_dir": str(Path(args.tracking).resolve()) if args.tracking else None,
        "dry_run": args.dry_run,
        "replay_only": args.replay_only,
        "sandbox_url": args.sandbox_url,
        "poll_carriers": args.poll,
        "reason": "oasis run",
    }
    if args.carriers:
        conf["carriers"] = args.carriers.split(",")
    run_id, state = _run_through_dag(settings, conf)
    return _print_summary(settings, run_id, state)


def _print_summary(settings: Settings, run_id: str, state: str) -> int:
    from notify.store import open_store
    from notify.summary import run_summary

    engine = open_store(settings.database_url)
    s = run_summary(engine, run_id, settings)
    table = Table(title=f"Run {run_id} ({state})")
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in s["rows"]:
        table.add_row(label, str(value))
    console.print(table)
    for line in s["notes"]:
        console.print(line)
    return 0 if state == "success" else 1


def cmd_notices(args: argparse.Namespace) -> int:
    from notify.stages.record import format_rows, notice_rows
    from notify.store import open_store
    from notify.summary import resolve_run

    settings = _settings()
    engine = open_store(settings.database_url)
    run_id = resolve_run(engine, args.run, args.as_of)
    sys.stdout.write(format_rows(notice_rows(engine, run_id), args.format))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from notify.simulate import generate_world

    summary = generate_world(Path(args.out), orders=args.orders, seed=args.seed)
    console.print(summary)
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from carriers.sandbox.cli import main as sandbox_main

    return sandbox_main(args.rest)


def cmd_serve(args: argparse.Namespace) -> int:
    from notify.web import serve

    return serve(args.rest)


def cmd_carriers_parse(args: argparse.Namespace) -> int:
    from carriers import registry
    from carriers.models import PayloadError

    failures = 0
    for name in args.files:
        body = Path(name).read_bytes()
        try:
            spec = registry.get(args.carrier) if args.carrier else registry.detect(body)
            results = spec.parse(body)
        except (PayloadError, KeyError) as exc:
            failures += 1
            print(f"{name}: {exc}", file=sys.stderr)
            continue
        for result in results:
            print(json.dumps(result.to_dict(), ensure_ascii=False))
    return 1 if failures else 0


def cmd_explain(args: argparse.Namespace) -> int:
    from notify.explain import explain
    from notify.store import open_store

    settings = _settings()
    console.print(explain(open_store(settings.database_url), args.order_id), markup=False)
    return 0


def cmd_cases(args: argparse.Namespace) -> int:
    from notify.cases import case_context, close_case, list_cases, ticket_body
    from notify.store import open_store, schema

    engine = open_store(_settings().database_url)
    if args.action == "close":
        if not args.case_id:
            raise SystemExit("oasis cases close CASE_ID --reason TEXT: which case?")
        if not close_case(engine, args.case_id, args.reason or "closed by hand"):
            raise SystemExit(f"no open case {args.case_id!r}: list them with `oasis cases`")
        console.print(f"closed {args.case_id}; automated notices for its order resume")
        return 0
    if args.action == "show":
        t = schema.cases
        with engine.connect() as conn:
            case = conn.execute(select_case(t, args.case_id)).first()
            if case is None:
                raise SystemExit(f"no case {args.case_id!r}: list them with `oasis cases --all`")
            console.print(ticket_body(case_context(conn, case)), markup=False)
        return 0
    cases = list_cases(engine, None if args.all else "open")
    if args.format == "json":
        for c in cases:
            row = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
                   for k, v in c._mapping.items() if k != "context"}  # fmt: skip
            row["triggers"] = json.loads(c.triggers)
            print(json.dumps(row, ensure_ascii=False))
        return 0
    table = Table(title=f"{len(cases)} {'' if args.all else 'open '}cases")
    for column in ("case", "order", "status", "priority", "opened (UTC)", "why", "help desk"):
        table.add_column(column)
    for c in cases:
        why = ", ".join(sorted({t["kind"] for t in json.loads(c.triggers)}))
        desk = f"{c.helpdesk} #{c.external_id}" if c.external_id else (c.export_error or "-")
        table.add_row(c.case_id, c.order_id, c.status, c.priority,
                      f"{c.opened_at:%Y-%m-%d %H:%M}", why, desk)  # fmt: skip
    console.print(table)
    return 0


def select_case(table: Any, case_id: str) -> Any:
    from sqlalchemy import select

    return select(table).where(table.c.case_id == case_id)


def cmd_score_targeting(args: argparse.Namespace) -> int:
    from notify.scoring_report import score_command

    return score_command(args, console)


def cmd_score_runs(args: argparse.Namespace) -> int:
    from notify.lifetime import score_runs_command

    return score_runs_command(args, console)


def _print_source_status(engine: Any) -> int:
    from sqlalchemy import select

    from notify.store import schema

    e = schema.source_extractions
    with engine.connect() as conn:
        states = conn.execute(select(schema.source_state).order_by("source")).all()
        if not states:
            console.print("No order source has been extracted yet.")
        for state in states:
            last = conn.execute(
                select(e.c.status, e.c.mode, e.c.started_at, e.c.error)
                .where(e.c.source == state.source)
                .order_by(e.c.extraction_id.desc())
                .limit(1)
            ).first()
            full = state.last_full_refresh_at
            console.print(
                f"{state.source}: mapping {state.mapping}; watermark (shop time) "
                f"{state.watermark.isoformat() if state.watermark else '-'}; last full refresh "
                f"{full.isoformat(timespec='seconds') if full else '-'}"
            )
            if last is not None:
                console.print(
                    f"  last extraction: {last.status} {last.mode} at "
                    f"{last.started_at.isoformat(timespec='seconds')}"
                    + (f": {last.error}" if last.error else ""),
                    markup=False,
                )
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from notify.sources import FileSource, MappingError, SourceError, configured_source
    from notify.store import open_store

    settings = _settings()
    engine = open_store(settings.database_url)
    if args.status:
        return _print_source_status(engine)
    try:
        source = configured_source(
            kind="sql" if args.mapping else None, mapping=args.mapping, name=args.source
        )
        if source is None:
            raise SourceError(
                "no order source: pass --mapping magento2|woocommerce|FOLDER, or set "
                "OASIS_ORDER_SOURCE=sql and OASIS_ORDER_MAPPING"
            )
        result = source.extract(engine, full_refresh=args.full_refresh)
    except (SourceError, MappingError) as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    if isinstance(source, FileSource):
        console.print(result)
        return 0
    out = result.to_dict()
    table = Table(title=f"{out['source']} ({out['mapping']}): {out['mode']}")
    table.add_column("table")
    columns = ("read", "new", "updated", "unchanged", "rejected", "rejected_again")
    for column in columns:
        table.add_column(column.replace("_", " "), justify="right")
    for name, counts in out["tables"].items():
        table.add_row(name, *(str(counts[c]) for c in columns))
    console.print(table)
    since = out["since"] or "the beginning"
    why = f" ({out['reason']})" if out["reason"] else ""
    console.print(f"shop changes since {since} up to {out['until']}{why}, {out['seconds']} s")
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    from notify.preview import format_preview, preview, write_files
    from notify.store import open_store

    settings = _settings()
    engine = open_store(settings.database_url)
    try:
        result = preview(
            engine, args.order_id, settings=settings, channel=args.channel, locale=args.locale
        )
    except ValueError as exc:
        print(f"oasis preview: {exc}", file=sys.stderr)
        return 2
    if args.out:
        write_files(result, Path(args.out))
    sys.stdout.write(format_preview(result, show_bodies=not args.out))
    return 0 if result.run_id and result.notice_id else 1


def cmd_report(args: argparse.Namespace) -> int:
    from notify import report
    from notify.runs import run_folder
    from notify.store import open_store
    from notify.summary import resolve_run

    settings = _settings()
    run_id = resolve_run(open_store(settings.database_url), args.run_id, None)
    data = report.load(settings, run_id)
    html_path = run_folder(settings.runs_dir, run_id) / "report.html"
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return 0
    table = Table(title=f"Run {run_id}: {data['mode']}, {data['status']}, as of {data['as_of']}")
    table.add_column("decision")
    table.add_column("count", justify="right")
    for decision, count in data["decisions"].items():
        table.add_row(decision, str(count))
    console.print(table)
    if data.get("approval"):
        a = data["approval"]
        console.print(f"{a['decision']}d by {a['decided_by']} at {a['decided_at']}: {a['reason']}")
    for failure in data["gate"].get("batch_failures") or []:
        console.print(f"gate halted: {failure}")
    console.print(f"Report: {html_path}")
    if args.open:
        import webbrowser

        webbrowser.open(html_path.as_uri())
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    from notify import approvals, pipeline
    from notify.store import open_store

    settings = _settings()
    engine = open_store(settings.database_url)
    decide = approvals.approve if args.command == "approve" else approvals.reject
    try:
        decided = decide(engine, args.run_id, decided_by=args.by, reason=args.reason)
    except approvals.ApprovalError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    console.print(f"run {args.run_id}: {decided.decision}d by {decided.decided_by}")
    for step in ("release", "send", "record"):  # what the DAG does after its approval task
        pipeline.run_step(step, args.run_id)
    return _print_summary(settings, args.run_id, "success")


def cmd_backtest(args: argparse.Namespace) -> int:
    from notify.backtest.run import command

    return command(args, _settings(), console)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oasis", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="simulate a world and run the real DAG on it")
    demo.add_argument("--orders", type=int, default=2000)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--as-of", help="world time (ISO 8601 with offset); default: the world's")
    demo.set_defaults(func=cmd_demo)

    run = sub.add_parser("run", help="one pipeline run through the real DAG")
    run.add_argument("--as-of", help="see the world as it was then (ISO 8601 with offset)")
    run.add_argument("--orders", help="folder of order files (customers, orders, ...)")
    run.add_argument("--tracking", help="drop folder of carrier payload files")
    run.add_argument("--dry-run", action="store_true", help="render and gate, send nothing")
    run.add_argument("--replay-only", action="store_true", help="record decisions only")
    run.add_argument("--sandbox-url", help="poll this carrier sandbox instead of the carriers")
    run.add_argument("--poll", action="store_true", help="poll the configured carrier APIs")
    run.add_argument("--carriers", help="comma-separated carriers to poll")
    run.set_defaults(func=cmd_run)

    notices = sub.add_parser("notices", help="every decision of a run")
    which = notices.add_mutually_exclusive_group()
    which.add_argument("--run", help="run id (default: the latest run)")
    which.add_argument("--as-of", help="the latest run with this as-of time")
    notices.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    notices.set_defaults(func=cmd_notices)

    simulate = sub.add_parser("simulate", help="generate a world with ground truth")
    simulate.add_argument("--orders", type=int, default=2000)
    simulate.add_argument("--seed", type=int, default=7)
    simulate.add_argument("--out", required=True)
    simulate.set_defaults(func=cmd_simulate)

    sandbox = sub.add_parser(
        "sandbox", help="serve a world in carrier wire formats", add_help=False
    )
    sandbox.add_argument("rest", nargs=argparse.REMAINDER)
    sandbox.set_defaults(func=cmd_sandbox)

    serve = sub.add_parser("serve", help="receive EasyPost/AfterShip webhooks", add_help=False)
    serve.add_argument("rest", nargs=argparse.REMAINDER)
    serve.set_defaults(func=cmd_serve)

    carriers = sub.add_parser("carriers", help="carrier tools")
    carriers_sub = carriers.add_subparsers(dest="carriers_command", required=True)
    parse = carriers_sub.add_parser("parse", help="normalized tracking as JSON lines")
    parse.add_argument("--carrier", help="carrier name (default: recognised from the content)")
    parse.add_argument("files", nargs="+")
    parse.set_defaults(func=cmd_carriers_parse)

    extract = sub.add_parser(
        "extract", help="read new and changed orders from the shop database (incremental)"
    )
    extract.add_argument("--mapping", help="magento2, woocommerce or a folder of SQL files")
    extract.add_argument("--source", help="the source's name (its watermark); default: mapping")
    extract.add_argument(
        "--full-refresh", action="store_true", help="re-read everything (recovery)"
    )
    extract.add_argument("--status", action="store_true", help="show watermarks, extract nothing")
    extract.set_defaults(func=cmd_extract)

    backtest = sub.add_parser("backtest", help="replay a world: ETA accuracy and detection")
    backtest.add_argument("--world", required=True, help="a folder written by oasis simulate")
    backtest.add_argument("--out", help="report folder (default: WORLD/backtest)")
    backtest.add_argument("--every-hours", type=float, default=6.0, help="hours between runs")
    backtest.add_argument("--warmup-days", type=float, default=7.0, help="days before the first")
    backtest.add_argument("--naive-days", type=int, default=1, help="N of the promise+N baseline")
    backtest.add_argument("--rules", help="rules file (default: OASIS_RULES_FILE or packaged)")
    backtest.add_argument("--database-url", help="store to replay in (default: a temporary SQLite)")
    backtest.set_defaults(func=cmd_backtest)

    explain = sub.add_parser("explain", help="every decision about one order")
    explain.add_argument("order_id")
    explain.set_defaults(func=cmd_explain)

    cases = sub.add_parser("cases", help="escalation cases a person holds")
    cases.add_argument("action", nargs="?", choices=["list", "show", "close"], default="list")
    cases.add_argument("case_id", nargs="?")
    cases.add_argument("--all", action="store_true", help="closed cases too")
    cases.add_argument("--reason", help="why the case is closed (with close)")
    cases.add_argument("--format", choices=["table", "json"], default="table")
    cases.set_defaults(func=cmd_cases)

    score = sub.add_parser(
        "score-targeting", help="targeting precision/recall on simulated worlds vs truth"
    )
    score.add_argument("--world", action="append", help="a generated world folder (repeatable)")
    score.add_argument("--seeds", help="comma-separated seeds: generate worlds for these")
    score.add_argument("--orders", type=int, default=3000, help="orders per generated world")
    score.add_argument("--as-of", action="append", help="world time(s); default: around the demo")
    score.add_argument(
        "--oracle", action="store_true", help="also score targeting alone (episodes from truth)"
    )
    score.add_argument("--json", help="write the scores to this file")
    score.set_defaults(func=cmd_score_targeting)

    life = sub.add_parser(
        "score-runs",
        help="run the pipeline every N hours over simulated worlds; score every message sent",
    )
    life.add_argument("--world", action="append", help="a generated world folder (repeatable)")
    life.add_argument("--seeds", help="comma-separated seeds: generate worlds for these")
    life.add_argument("--orders", type=int, default=3000, help="orders per generated world")
    life.add_argument("--every", type=float, default=6.0, help="hours between runs (default 6)")
    life.add_argument(
        "--first-day", type=float, default=3.0, help="first run this many days after the start"
    )
    life.add_argument("--days", type=float, help="days to run (default: to the world's end)")
    life.add_argument("--keep", help="keep the store and outbox in this folder")
    life.add_argument("--json", help="write the scores to this file")
    life.set_defaults(func=cmd_score_runs)

    show = sub.add_parser("preview", help="the messages an order's customer would get")
    show.add_argument("order_id")
    show.add_argument("--channel", choices=["email", "sms"], help="only this channel")
    show.add_argument("--locale", help="render in this locale instead (e.g. de-DE)")
    show.add_argument("--out", help="write the files (subject, HTML, text, SMS) here")
    show.set_defaults(func=cmd_preview)

    report = sub.add_parser("report", help="a run's report: summary, path, or JSON")
    report.add_argument("run_id", nargs="?", help="run id (default: the latest run)")
    report.add_argument("--open", action="store_true", help="open the HTML report")
    report.add_argument("--json", action="store_true", help="print report.json")
    report.set_defaults(func=cmd_report)

    for verb, text in (("approve", "send"), ("reject", "keep blocked")):
        decide = sub.add_parser(verb, help=f"{verb} a halted batch ({text} its rows)")
        decide.add_argument("run_id")
        decide.add_argument("--by", required=True, help="who decides (kept with the decision)")
        decide.add_argument("--reason", required=True, help="why (kept with the decision)")
        decide.set_defaults(func=cmd_decide)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
