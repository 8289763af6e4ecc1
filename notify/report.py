"""The run report: what one run saw, decided and sent, as JSON and as an HTML page with plots.

Written by the record step under the run's folder (``$OASIS_HOME/runs/<run>/report.json``
and ``report.html``) and linked from that task's log; ``oasis report RUN_ID`` prints it.
Plots: open delays by carrier and cause, notices by decision and channel, ETA window widths,
gate results. Counts only: no names, addresses or message bodies.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from notify import approvals
from notify.config import Settings
from notify.runs import Run, run_folder
from notify.store import schema


def gather(engine: Engine, run: Run, status: str) -> dict[str, Any]:
    """Everything the report shows, as plain data (this is report.json)."""
    d, p, ep = schema.decisions, schema.eta_predictions, schema.delay_episodes
    with engine.connect() as conn:
        summary = json.loads(
            conn.execute(
                select(schema.runs.c.summary).where(schema.runs.c.run_id == run.run_id)
            ).scalar_one()
        )
        by_decision = conn.execute(
            select(d.c.decision, d.c.channel, func.count())
            .where(d.c.run_id == run.run_id)
            .group_by(d.c.decision, d.c.channel)
        ).all()
        quarantined = conn.execute(
            select(d.c.reason).where(d.c.run_id == run.run_id, d.c.decision == "quarantined")
        ).scalars()
        reasons = Counter(r for text in quarantined for r in text.split("; ") if r)
        delays = conn.execute(
            select(ep.c.carrier, ep.c.cause, func.count())
            .join(p, p.c.episode_id == ep.c.episode_id)
            .where(p.c.run_id == run.run_id)
            .group_by(ep.c.carrier, ep.c.cause)
        ).all()
        windows = conn.execute(select(p.c.earliest, p.c.latest).where(p.c.run_id == run.run_id))
        widths = Counter(_width(e, la) for e, la in windows)
    decided: dict[str, dict[str, int]] = {}
    for decision, channel, n in by_decision:
        decided.setdefault(decision, {})[channel or "no channel"] = int(n)
    approval = approvals.get(engine, run.run_id)
    return {
        "run_id": run.run_id,
        "as_of": run.as_of.isoformat(),
        "mode": run.mode,
        "status": status,
        "run_type": run.params.get("run_type"),
        "reason": run.params.get("reason"),
        "decisions": {k: sum(v.values()) for k, v in sorted(decided.items())},
        "decisions_by_channel": decided,
        "delays_by_carrier_and_cause": [
            {"carrier": c, "cause": cause, "episodes": int(n)} for c, cause, n in sorted(delays)
        ],
        "eta_window_days": {str(k): v for k, v in sorted(widths.items(), key=_width_order)},
        "gate": summary.get("gate", {}),
        "quarantine_reasons": dict(reasons.most_common()),
        "approval": approval.to_dict() if approval else None,
        "release": summary.get("release"),
        "send": summary.get("send"),
        "stages": summary,
    }


def _width(earliest: str | None, latest: str | None) -> int | str:
    """Days in the ETA window (1 = a single day), or "unknown"."""
    if not earliest or not latest:
        return "unknown"
    return (date.fromisoformat(latest[:10]) - date.fromisoformat(earliest[:10])).days + 1


def _width_order(item: tuple[Any, int]) -> tuple[int, int]:
    key = item[0]
    return (1, 0) if key == "unknown" else (0, int(key))


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def plots(data: dict[str, Any]) -> dict[str, str]:
    """The four charts as base64 PNG, keyed by title."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    out: dict[str, str] = {}
    charts = (
        ("Open delays by carrier and cause", _delays_chart),
        ("Notices by decision and channel", _decisions_chart),
        ("ETA window widths", _windows_chart),
        ("Gate results", _gate_chart),
    )
    for title, draw in charts:
        fig, ax = plt.subplots(figsize=(6.4, 3.2))
        try:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            draw(ax, data)
            ax.set_title(title)
            out[title] = _png(fig)
        finally:
            plt.close(fig)
    return out


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def _delays_chart(ax: Any, data: dict[str, Any]) -> None:
    rows = data["delays_by_carrier_and_cause"]
    if not rows:
        return _empty(ax, "no open delay episodes")
    carriers = sorted({r["carrier"] for r in rows})
    causes = sorted({r["cause"] for r in rows})
    bottom = [0] * len(carriers)
    for cause in causes:
        values = [
            sum(r["episodes"] for r in rows if r["carrier"] == c and r["cause"] == cause)
            for c in carriers
        ]
        ax.bar(carriers, values, bottom=bottom, label=cause)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("episodes")
    ax.legend(fontsize=7, ncol=2, loc="upper right")
    return None


def _decisions_chart(ax: Any, data: dict[str, Any]) -> None:
    by = data["decisions_by_channel"]
    if not by:
        return _empty(ax, "no decisions")
    names = sorted(by)
    channels = sorted({c for v in by.values() for c in v})
    left = [0] * len(names)
    for channel in channels:
        values = [by[n].get(channel, 0) for n in names]
        ax.barh(names, values, left=left, label=channel)
        left = [a + v for a, v in zip(left, values, strict=True)]
    ax.set_xlabel("notices x channel")
    ax.legend(fontsize=7)
    return None


def _windows_chart(ax: Any, data: dict[str, Any]) -> None:
    widths = data["eta_window_days"]
    if not widths:
        return _empty(ax, "no ETA predictions")
    labels = [f"{k} d" if k != "unknown" else "unknown" for k in widths]
    ax.bar(labels, list(widths.values()), color="#4c72b0")
    ax.set_ylabel("episodes")
    return None


def _gate_chart(ax: Any, data: dict[str, Any]) -> None:
    gate = data["gate"]
    if not gate.get("rows"):
        return _empty(ax, "nothing reached the gate")
    labels = ["published", "quarantined", "blocked"]
    colors = ["#55a868", "#dd8452", "#c44e52"]
    ax.bar(labels, [gate.get(k, 0) for k in labels], color=colors)
    ax.set_ylabel("rows")
    if gate.get("halted"):
        ax.set_xlabel("batch halted: " + "; ".join(gate.get("batch_failures") or [])[:90])
    return None


def _table(rows: list[tuple[str, Any]]) -> str:
    cells = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    return f"<table>{cells}</table>"


def to_html(data: dict[str, Any], images: dict[str, str]) -> str:
    esc = html.escape
    facts = [
        ("as of", data["as_of"]),
        ("mode", data["mode"]),
        ("status", data["status"]),
        ("started as", data.get("run_type") or "scheduled or manual"),
        ("reason", data.get("reason") or ""),
    ]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Oasis run {esc(data['run_id'])}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;"
        "padding:.2em .6em;text-align:left}img{max-width:100%}</style></head><body>",
        f"<h1>Run {esc(data['run_id'])}</h1>",
        _table(facts),
        "<h2>Decisions</h2>",
        _table(list(data["decisions"].items()) or [("none", 0)]),
    ]
    approval = data.get("approval")
    if approval:
        parts += [
            "<h2>Approval</h2>",
            _table([(k, approval[k]) for k in ("decision", "decided_by", "reason", "decided_at")]),
        ]
    if data["gate"].get("batch_failures"):
        items = "".join(f"<li>{esc(f)}</li>" for f in data["gate"]["batch_failures"])
        parts.append(f"<h2>The gate halted the batch</h2><ul>{items}</ul>")
    for title, png in images.items():
        image = f"<img alt='{esc(title)}' src='data:image/png;base64,{png}'>"
        parts.append(f"<h2>{esc(title)}</h2>{image}")
    if data["quarantine_reasons"]:
        parts += ["<h2>Quarantine reasons</h2>", _table(list(data["quarantine_reasons"].items()))]
    stages = json.dumps(data["stages"], indent=2, default=str)
    parts += ["<h2>Every stage's numbers</h2>", f"<pre>{esc(stages)}</pre>", "</body></html>"]
    return "\n".join(parts)


def write(engine: Engine, run: Run, settings: Settings, status: str, **paths: str) -> Path:
    """Write report.json and report.html under the run's folder; returns the HTML path."""
    folder = run_folder(settings.runs_dir, run.run_id)
    folder.mkdir(parents=True, exist_ok=True)
    data = gather(engine, run, status)
    html_path = folder / "report.html"
    json_path = folder / "report.json"
    data["paths"] = {**paths, "report_html": str(html_path), "report_json": str(json_path)}
    json_path.write_text(json.dumps(data, indent=2, default=str), "utf-8")
    html_path.write_text(to_html(data, plots(data)), "utf-8")
    return html_path


def load(settings: Settings, run_id: str) -> dict[str, Any]:
    """A run's report.json, or a clear error when the run has none yet."""
    path = run_folder(settings.runs_dir, run_id) / "report.json"
    if not path.exists():
        raise FileNotFoundError(
            f"no report for run {run_id!r} at {path}: the run's record step has not run yet"
        )
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data
