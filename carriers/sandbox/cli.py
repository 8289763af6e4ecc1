"""``oasis sandbox``: serve a simulated world in carrier wire formats until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime

from carriers.sandbox.server import SandboxServer
from carriers.sandbox.world import SandboxWorld


def _aware(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no UTC offset; write e.g. 2026-11-20T10:00:00+00:00"
        )
    return moment


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oasis sandbox",
        description="Serve a simulated world's tracking in every carrier's wire format.",
    )
    parser.add_argument("--world", required=True, help="world directory (from oasis simulate)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free)")
    parser.add_argument(
        "--as-of",
        type=_aware,
        default=None,
        help="serve the world as of this ISO time (default: everything); a client can "
        "also ask per request with a /asof/<time>/ URL prefix",
    )
    return parser


@contextlib.contextmanager
def _stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    """SIGTERM (docker stop, kill) ends the server like Ctrl-C; main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None, *, stop: threading.Event | None = None) -> int:
    """Run the sandbox until Ctrl-C or SIGTERM (or ``stop`` is set, for embedding and tests)."""
    args = build_parser().parse_args(argv)
    started = time.monotonic()
    world = SandboxWorld.load(args.world)
    loaded = time.monotonic() - started
    stop = stop or threading.Event()
    server = SandboxServer(world, port=args.port, as_of=args.as_of)
    with server, _stop_on_sigterm(stop):
        carriers = ", ".join(server.router.carriers) or "none registered"
        print(f"loaded {world.scan_count} scans in {loaded:.1f} s", flush=True)
        print(f"carrier sandbox at {server.base_url} ({carriers})", flush=True)
        if args.as_of is not None:
            print(f"as of {args.as_of.isoformat()}", flush=True)
        print("Ctrl-C to stop", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        counts = server.request_counts
    summary = ", ".join(f"{name}={n}" for name, n in sorted(counts.items())) or "none"
    print(f"stopped; tracking requests served: {summary}", flush=True)
    return 0
