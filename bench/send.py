"""Send benchmark: sends/s through the ledger to loopback SendGrid and Twilio stubs.

    python -m bench.send [--messages 400] [--shards 1,4,8] [--latency 0.05,0.15]
                         [--providers sendgrid,twilio] [--database-url URL]

Each shard is its own process running the real task entry point
(``notify.pipeline.send_step(run_id, shard, shards, channel)``), as mapped Airflow tasks
would; all of a configuration's processes import first and start together, so interpreter
start-up is not counted (each task's own store opening and settings are). The stubs answer
every request after a uniformly random latency (default 50-150 ms, a realistic provider
round trip). Reported per provider and shard count: messages, task seconds (from "go" until
every shard returned) and sends/s over them, sends/s while sending (first to last request
at the stub: without the tasks' fixed start-up), the largest shard's peak resident memory,
and requests per send key at the stub (must be 1). Prints a table
and writes ``bench/results/send.json``. Talks only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.measure import scratch_dir

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
console = Console(width=130)

CHILD = """
import json, os, resource, sys, time
os.environ.update(json.loads(sys.argv[5]))  # the shard's settings, as a worker would have them
from notify.pipeline import send_step
run_id, shard, shards, channel = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
print("ready", flush=True)
sys.stdin.readline()
started = time.perf_counter()
result = send_step(run_id, shard, shards, channel)
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"elapsed": elapsed, "sent": result["sent"], "peak_rss_mb": peak}), flush=True)
"""


def _seed(url: str, run_id: str, channel: str, messages: int) -> None:
    from datetime import UTC, datetime

    from notify.runs import begin_run
    from notify.store import open_store, schema
    from notify.store.ops import insert_new, upsert

    engine = open_store(url)
    begin_run(engine, run_id=run_id, as_of=datetime.now(UTC), mode="send", params={})
    now = datetime.now(UTC)
    notices, outbox = [], []
    for i in range(messages):
        notice_id, customer_id = f"{run_id}-n{i:06d}", f"C{i:06d}"
        facts = {"notice_id": notice_id, "customer_id": customer_id,
                 "orders": [{"order_id": f"O{i:06d}"}], "shipment_ids": [f"S{i:06d}"],
                 "eta": {"earliest": "2026-11-25", "latest": "2026-11-26"},
                 "cause": "weather"}  # fmt: skip
        notices.append({"notice_id": notice_id, "customer_id": customer_id, "first_run_id": run_id,
                        "plan": "{}", "facts": json.dumps(facts), "created_at": now})  # fmt: skip
        email = channel == "email"
        outbox.append({"run_id": run_id, "notice_id": notice_id, "customer_id": customer_id,
                       "channel": channel,
                       "recipient": f"c{i:06d}@example.com" if email else f"+1312{i:07d}",
                       "subject": f"Order O{i:06d} is late" if email else None,
                       "body_html": f"<p>Order O{i:06d} arrives 25-26 Nov.</p>" if email else None,
                       "body_text": f"Order O{i:06d} arrives 25-26 Nov.", "sms_segments": 1,
                       "template_version": "bench", "state": "published",
                       "reasons": "[]"})  # fmt: skip
    with engine.begin() as conn:
        insert_new(conn, schema.notices, notices, ["notice_id"])
        upsert(conn, schema.outbox, outbox, ["run_id", "notice_id", "channel"])


def _settings(url: str, home: Path, sendgrid: Any, twilio: Any) -> dict[str, str]:
    return {
        "OASIS_DATABASE_URL": url, "OASIS_HOME": str(home), "OASIS_ENVIRONMENT": "production",
        "OASIS_EMAIL_PROVIDER": "sendgrid", "OASIS_SMS_PROVIDER": "twilio",
        "OASIS_SENDGRID_API_KEY": sendgrid.api_key, "OASIS_SENDGRID_HOST": sendgrid.base_url,
        "OASIS_TWILIO_ACCOUNT_SID": twilio.account_sid,
        "OASIS_TWILIO_AUTH_TOKEN": twilio.auth_token, "OASIS_TWILIO_BASE_URL": twilio.base_url,
        "OASIS_TWILIO_MESSAGING_SERVICE_SID": "MG" + "1" * 32,
        "OASIS_TWILIO_STATUS_CALLBACK_URL": "https://hooks.example.com/webhooks/twilio/status",
        "OASIS_UNSUBSCRIBE_SECRET": "bench-secret", "OASIS_SENDGRID_RATE": "0",
        "OASIS_TWILIO_RATE": "0",
    }  # fmt: skip


def measure(url: str, settings: dict[str, str], stub: Any, provider: str, shards: int,
            messages: int) -> dict[str, Any]:  # fmt: skip
    channel = "email" if provider == "sendgrid" else "sms"
    run_id = f"bench-{provider}-{shards}"
    _seed(url, run_id, channel, messages)
    before = stub.count()
    children = [
        subprocess.Popen([sys.executable, "-c", CHILD, run_id, str(i), str(shards), channel,
                          json.dumps(settings)], cwd=ROOT, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(shards)
    ]  # fmt: skip
    for child in children:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError(f"a shard failed to start: {child.communicate()[1][-2000:]}")
    started = time.perf_counter()
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    reports = []
    for child in children:
        out, err = child.communicate()
        if child.returncode != 0:
            raise RuntimeError(f"a shard failed: {err[-2000:]}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    seconds = time.perf_counter() - started
    sent = sum(r["sent"] for r in reports)
    per_key = stub.requests_per_key()
    mine = stub.requests[before:]
    window = max(r.at for r in mine) - min(r.at for r in mine) if len(mine) > 1 else 0.0
    return {
        "provider": provider, "shards": shards, "messages": messages, "sent": sent,
        "seconds": round(seconds, 2), "sends_per_second": round(sent / seconds, 1),
        "window_sends_per_second": round((len(mine) - 1) / window, 1) if window else 0.0,
        "slowest_shard_seconds": round(max(r["elapsed"] for r in reports), 2),
        "peak_rss_mb_per_shard": round(max(r["peak_rss_mb"] for r in reports), 1),
        "requests": stub.count() - before,
        "max_requests_per_key": max(per_key.values()) if per_key else 0,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.send", description=__doc__)
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--shards", default="1,4,8")
    parser.add_argument("--latency", default="0.05,0.15", help="seconds, min,max per request")
    parser.add_argument("--providers", default="sendgrid,twilio")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--out", default=str(RESULTS / "send.json"))
    args = parser.parse_args(argv)
    from tests.provider_stubs import SendGridStub, TwilioStub

    low, high = (float(x) for x in args.latency.split(","))
    rows = []
    with (
        scratch_dir("oasis-bench-send-") as work,
        SendGridStub(latency=(low, high)) as sendgrid,
        TwilioStub(latency=(low, high)) as twilio,
    ):
        url = args.database_url or f"sqlite:///{work / 'oasis.db'}"
        settings = _settings(url, work / "home", sendgrid, twilio)
        stubs = {"sendgrid": sendgrid, "twilio": twilio}
        for provider in args.providers.split(","):
            for shards in (int(s) for s in args.shards.split(",")):
                rows.append(
                    measure(url, settings, stubs[provider], provider, shards, args.messages)
                )
                console.print(rows[-1])
    table = Table(title=f"Sends through the ledger, stub latency {low * 1000:.0f}-"
                  f"{high * 1000:.0f} ms, {url.split(':', 1)[0]}")  # fmt: skip
    for column in ("provider", "shards", "messages", "task seconds", "sends/s",
                   "sends/s while sending", "peak RSS MB/shard", "max requests/key"):  # fmt: skip
        table.add_column(column, justify="left" if column == "provider" else "right")
    for r in rows:
        table.add_row(r["provider"], str(r["shards"]), f"{r['sent']:,}", f"{r['seconds']:.1f}",
                      f"{r['sends_per_second']:.1f}", f"{r['window_sends_per_second']:.1f}",
                      f"{r['peak_rss_mb_per_shard']:.0f}",
                      str(r["max_requests_per_key"]))  # fmt: skip
    console.print(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"latency_seconds": [low, high], "database": url.split(":", 1)[0],
                               "results": rows}, indent=2))  # fmt: skip
    console.print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
