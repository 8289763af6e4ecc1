"""The send benchmark measures real sends: a tiny run, every message once at the stub."""

from __future__ import annotations

import json

from bench.send import main


def test_send_benchmark_sends_every_message_once_per_shard_count(tmp_path):
    out = tmp_path / "send.json"
    assert main(["--messages", "6", "--shards", "1,2", "--latency", "0,0.01",
                 "--providers", "sendgrid,twilio", "--out", str(out)]) == 0  # fmt: skip
    results = json.loads(out.read_text())["results"]
    assert [(r["provider"], r["shards"]) for r in results] == [
        ("sendgrid", 1), ("sendgrid", 2), ("twilio", 1), ("twilio", 2)]  # fmt: skip
    for r in results:
        assert r["sent"] == r["messages"] == r["requests"] == 6
        assert r["max_requests_per_key"] == 1 and r["sends_per_second"] > 0
        assert r["peak_rss_mb_per_shard"] > 0
