"""A real Airflow on 127.0.0.1 for the end-to-end tests and the Celery proof.

:class:`AirflowRig` writes a private ``AIRFLOW_HOME`` configuration (free ports for the API
server and the log servers, no examples, the test store), migrates the metadata database,
imports the project's pools and starts Airflow's own processes (``airflow standalone``, or
scheduler / api-server / dag-processor / Celery workers), each in its own process group with
its own log file. :class:`Rest` is a small Airflow REST API v2 client (the same calls an
operator's tooling would make).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

ROOT = Path(__file__).resolve().parent.parent
DAGS = ROOT / "dags"
POOLS = ROOT / "deploy" / "airflow" / "pools.json"
BIN = Path(sys.executable).parent
T = TypeVar("T")


def worker_hostname() -> str:
    """``[core] hostname_callable`` for several workers on one machine: tells them apart in
    each task instance's ``hostname`` (set ``OASIS_RIG_WORKER`` per worker)."""
    return f"{socket.gethostname()}/{os.environ.get('OASIS_RIG_WORKER', 'main')}"


def _signal_group(group: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, sig)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, every: float = 1.0) -> T:
    """Call ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except (httpx.HTTPError, OSError) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(every)
    raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s (last: {last!r})")


@dataclass
class AirflowRig:
    """One Airflow installation under ``root``; processes are started and stopped by us."""

    root: Path
    env: dict[str, str]
    api_port: int
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    @classmethod
    def configure(
        cls,
        root: Path,
        *,
        metadata_url: str | None = None,
        executor: str = "LocalExecutor",
        settings: Mapping[str, str] | None = None,
    ) -> AirflowRig:
        home = root / "airflow"
        home.mkdir(parents=True, exist_ok=True)
        api_port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OASIS_"))}
        env.update(
            {
                "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": executor,
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url
                or f"sqlite:///{home / 'airflow.db'}",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(api_port),
                "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                # Only the runs a test creates: no scheduled run lands in the test's store.
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__CORE__MIN_SERIALIZED_DAG_FETCH_INTERVAL": "1",
            }
        )
        env.update(settings or {})
        return cls(root, env, api_port)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def airflow(self, *args: str, timeout: float = 300) -> str:
        """Run an ``airflow`` CLI command to completion; its output, or a clear error."""
        done = subprocess.run(
            [str(BIN / "airflow"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def migrate(self) -> None:
        self.airflow("db", "migrate")
        self.airflow("pools", "import", str(POOLS))

    def start(self, name: str, args: Iterable[str], env: Mapping[str, str] | None = None) -> None:
        log = (self.root / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [str(BIN / "airflow"), *args],
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append((name, process))

    def wait_healthy(self, components: Iterable[str], timeout: float = 240) -> None:
        wanted = list(components)

        def healthy() -> bool:
            for name, process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited early; see {self.root / (name + '.log')}")
            body = httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
            return all(body.get(c, {}).get("status") == "healthy" for c in wanted)

        wait_for("a healthy Airflow (" + ", ".join(wanted) + ")", healthy, timeout)

    def stop(self) -> None:
        """SIGTERM every process group we started, then SIGKILL whatever is left of them
        (Airflow's processes start children of their own in the same group)."""
        groups = [process.pid for _, process in self.processes]
        for group in reversed(groups):
            _signal_group(group, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_group_alive(g) for g in groups):
            time.sleep(0.5)
        for group in groups:
            _signal_group(group, signal.SIGKILL)
        for _, process in self.processes:
            process.wait(timeout=10)
        self.processes.clear()

    def explain(self, rest: Rest, dag_id: str, run_id: str, lines: int = 40) -> str:
        """Task states of a run and the error lines of its failed tasks' logs (for asserts)."""
        out = []
        for ti in rest.task_instances(dag_id, run_id):
            out.append(f"{ti['task_id']}: {ti['state']} (try {ti['try_number']})")
            if ti["state"] != "failed":
                continue
            folder = self.root / "airflow" / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
            for log in sorted((folder / f"task_id={ti['task_id']}").glob("attempt=*.log")):
                text = log.read_text(errors="replace").splitlines()
                errors = [
                    line[:600] for line in text if '"level":"error"' in line or "Error" in line
                ]
                shown = errors or [line[:600] for line in text]  # no error line: its tail
                out += [f"  {log.name}:", *[f"    {e}" for e in shown[-lines:]]]
            out += self._process_lines(ti["task_id"], lines)
        return "\n".join(out)

    def _process_lines(self, task_id: str, lines: int) -> list[str]:
        """Lines of Airflow's own process logs (scheduler, triggerer, ...) naming the task:
        a task failed by the scheduler or the triggerer leaves its reason there, not in the
        task's log."""
        out = []
        for log in sorted(self.root.glob("*.log")):
            hits = [line[:600] for line in log.read_text(errors="replace").splitlines()
                    if task_id in line]  # fmt: skip
            if hits:
                out += [f"  {log.name}:", *[f"    {h}" for h in hits[-lines:]]]
        return out

    def wait_paused_worker_gone(
        self, dag_id: str, run_id: str, task_id: str, timeout: float = 60
    ) -> None:
        """After a HITL task shows ``awaiting_input``: wait until the scheduler has heard that
        the worker process which paused it exited. Airflow 3 races here: an answer given
        before that event arrives puts the task back in the queue, the late "success" of the
        pausing process then meets a queued task, and the scheduler fails it ("finished with
        state success, but the task instance's state attribute is queued"). A person never
        answers within that half second; a test can, so it waits for the event."""
        key = f"task_id='{task_id}', run_id='{run_id}'"

        def exited() -> bool:
            for log in self.root.glob("*.log"):
                for line in log.read_text(errors="replace").splitlines():
                    if "Received executor event" in line and key in line and dag_id in line:
                        return True
            return False

        wait_for(f"the worker that paused {task_id} of {run_id} to exit", exited, timeout)

    def rest(self) -> Rest:
        return Rest(self.base_url)


class Rest:
    """The few Airflow REST API v2 calls the tests and the proof need."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        token = httpx.get(f"{base_url}/auth/token", timeout=30).json()["access_token"]
        self.http = httpx.Client(
            base_url=f"{base_url}/api/v2",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    def _ok(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise RuntimeError(
                f"{response.request.method} {response.request.url} -> "
                f"{response.status_code}: {response.text[:2000]}"
            )
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self._ok(self.http.get(path, params=params))

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> dict[str, Any]:
        def parsed() -> dict[str, Any] | None:
            response = self.http.get(f"/dags/{dag_id}")
            return response.json() if response.status_code == 200 else None

        return wait_for(f"DAG {dag_id} to be parsed", parsed, timeout)

    def unpause(self, dag_id: str) -> None:
        self._ok(self.http.patch(f"/dags/{dag_id}", json={"is_paused": False}))

    def pause(self, dag_id: str) -> None:
        self._ok(self.http.patch(f"/dags/{dag_id}", json={"is_paused": True}))

    def trigger(self, dag_id: str, run_id: str, conf: dict[str, Any]) -> dict[str, Any]:
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf}
        result: dict[str, Any] = self._ok(self.http.post(f"/dags/{dag_id}/dagRuns", json=body))
        return result

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/dags/{dag_id}/dagRuns/{run_id}")
        return result

    def scheduler_alive(self) -> None:
        """Raise if Airflow reports its scheduler unhealthy (no heartbeat for a while)."""
        health = httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=10).json()
        if health.get("scheduler", {}).get("status") == "unhealthy":
            raise RuntimeError(f"the Airflow scheduler stopped: {health['scheduler']}")

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 300) -> str:
        def finished() -> str | None:
            state = str(self.run(dag_id, run_id)["state"])
            if state not in ("success", "failed"):
                self.scheduler_alive()
            return state if state in ("success", "failed") else None

        return wait_for(f"run {run_id} to finish", finished, timeout, every=2)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        body = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=500)
        return list(body["task_instances"])

    def wait_task(self, dag_id: str, run_id: str, task_id: str, state: str, timeout: float) -> None:
        def reached() -> bool:
            ti = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
            if ti["state"] in ("failed", "upstream_failed") and state not in ti["state"]:
                raise RuntimeError(f"{task_id} of {run_id} ended {ti['state']}")
            return bool(ti["state"] == state)

        wait_for(f"{task_id} of {run_id} to be {state}", reached, timeout, every=2)

    def hitl(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/-1/hitlDetails"
        result: dict[str, Any] = self.get(path)
        return result

    def respond(
        self, dag_id: str, run_id: str, task_id: str, chosen: list[str], inputs: dict[str, Any]
    ) -> dict[str, Any]:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/-1/hitlDetails"
        body = {"chosen_options": chosen, "params_input": inputs}
        result: dict[str, Any] = self._ok(self.http.patch(path, json=body))
        return result

    def backfill(self, dag_id: str, from_date: str, to_date: str, **options: Any) -> dict[str, Any]:
        """POST /backfills, with the DAG paused meanwhile.

        On SQLite, Airflow cannot create a backfill while the scheduler works on the same
        DAG's runs: the API answers 503 "Database is locked" after creating and removing
        runs, and a scheduler that had already loaded one of them stops
        (``ObjectDeletedError``). The scheduler leaves a paused DAG's runs alone, so pause,
        create (retrying a 503 a bounded number of times), unpause.
        """
        body = {"dag_id": dag_id, "from_date": from_date, "to_date": to_date, **options}
        self.pause(dag_id)
        try:
            for attempt in range(20):
                response = self.http.post("/backfills", json=body)
                if response.status_code != 503 or "locked" not in response.text:
                    break
                time.sleep(0.5 + 0.25 * attempt)
        finally:
            self.unpause(dag_id)
        result: dict[str, Any] = self._ok(response)
        return result

    def runs(self, dag_id: str, **filters: Any) -> list[dict[str, Any]]:
        body = self.get(f"/dags/{dag_id}/dagRuns", limit=500, **filters)
        return list(body["dag_runs"])
