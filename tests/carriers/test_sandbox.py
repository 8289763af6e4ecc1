"""The carrier sandbox: world loading, as-of views, routing and real clients against it."""

from __future__ import annotations

import csv
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from carriers import registry
from carriers.http import TOKEN_CACHE, CarrierSession, OAuth2ClientCredentials
from carriers.models import ProblemKind, TrackingResult
from carriers.registry import CarrierSpec, ClientSettings
from carriers.sandbox import SandboxServer, SandboxWorld, main, table
from carriers.taxonomy import Reason, Status

SCAN_HEADER = [
    "carrier",
    "tracking_number",
    "service",
    "occurred_at",
    "status",
    "reason",
    "description",
    "city",
    "region",
    "postal_code",
    "country",
]
ETA_HEADER = ["carrier", "tracking_number", "stated_at", "earliest", "latest"]
EST = timezone(timedelta(hours=-5))
CST = timezone(timedelta(hours=-6))

MEMPHIS = ("Memphis", "TN", "38118", "US")
DALLAS = ("Dallas", "TX", "75201", "US")
ATLANTA = ("Atlanta", "GA", "30301", "US")

# alpha: a made-up carrier spoken by the test codec below; fedex: the real codec.
SCANS = [
    ("alpha", "A1", "GROUND", "2026-11-18T09:00:00-05:00", "info_received", "", "Label", *MEMPHIS),
    ("alpha", "A1", "GROUND", "2026-11-19T14:30:00-06:00", "in_transit", "", "Departed", *DALLAS),
    ("alpha", "A1", "GROUND", "2026-11-21T08:00:00-05:00", "exception", "weather", "Storm", *ATLANTA),
    ("alpha", "A2", "EXPRESS", "2026-11-19T10:00:00+00:00", "in_transit", "", "Hub", "", "", "", ""),
    ("alpha", "A2", "EXPRESS", "2026-11-20T11:15:00-05:00", "delivered", "", "Left", *ATLANTA),
    ("alpha", "A3", "GROUND", "2026-11-25T09:00:00-05:00", "info_received", "", "Label", *MEMPHIS),
    ("beta", "B1", "", "2026-11-19T10:00:00Z", "in_transit", "", "Beta hub", "", "", "", "DE"),
    ("fedex", "794600000001", "FedEx Ground", "2026-11-18T09:00:00-05:00", "info_received", "",
     "Shipment information sent to FedEx", *MEMPHIS),
    ("fedex", "794600000001", "FedEx Ground", "2026-11-19T14:30:00-06:00", "in_transit", "",
     "Departed FedEx hub", *DALLAS),
    ("fedex", "794600000001", "FedEx Ground", "2026-11-21T08:00:00-05:00", "exception", "weather",
     "Delay due to weather", *ATLANTA),
    ("fedex", "794600000002", "FedEx Ground", "2026-11-19T08:00:00-05:00", "in_transit", "",
     "In transit", *ATLANTA),
    ("fedex", "794600000002", "FedEx Ground", "2026-11-20T06:05:00-05:00", "delivered", "",
     "Delivered", *ATLANTA),
]  # fmt: skip
ETAS = [
    ("alpha", "A1", "2026-11-18T09:00:00-05:00", "2026-11-22", "2026-11-22"),
    ("alpha", "A1", "2026-11-20T06:00:00+00:00", "2026-11-23T09:00:00-05:00", "2026-11-23T13:00:00-05:00"),
    ("alpha", "A1", "2026-11-21T08:00:00-05:00", "", ""),
    ("alpha", "A2", "2026-11-19T10:00:00+00:00", "", "2026-11-20"),
    ("fedex", "794600000001", "2026-11-18T09:00:00-05:00", "2026-11-22", "2026-11-22"),
    ("fedex", "794600000001", "2026-11-21T08:00:00-05:00", "", ""),
]  # fmt: skip
BEFORE_STORM = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def write_world(root: Path, scans: Sequence[Sequence[str]], etas: Sequence[Sequence[str]]) -> Path:
    folder = root / "tracking"
    folder.mkdir(parents=True, exist_ok=True)
    for name, header, rows in (("scans.csv", SCAN_HEADER, scans), ("etas.csv", ETA_HEADER, etas)):
        with (folder / name).open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    return root


@pytest.fixture
def world_dir(tmp_path: Path) -> Path:
    return write_world(tmp_path / "world", SCANS, ETAS)


@pytest.fixture
def world(world_dir: Path) -> SandboxWorld:
    return SandboxWorld.load(world_dir)


# -- the world ------------------------------------------------------------------------------


def test_full_history_newest_first_with_offsets_kept(world: SandboxWorld) -> None:
    result = world.tracking("alpha", "A1")
    assert result is not None
    assert (result.carrier, result.tracking_number, result.service) == ("alpha", "A1", "GROUND")
    assert (result.status, result.reason) == (Status.EXCEPTION, Reason.WEATHER)
    assert [e.occurred_at for e in result.events] == [
        datetime(2026, 11, 21, 8, 0, tzinfo=EST),
        datetime(2026, 11, 19, 14, 30, tzinfo=CST),
        datetime(2026, 11, 18, 9, 0, tzinfo=EST),
    ]
    assert [e.occurred_at.utcoffset() for e in result.events] == [
        timedelta(hours=-5),
        timedelta(hours=-6),
        timedelta(hours=-5),
    ]
    newest = result.events[0]
    assert (newest.status, newest.reason, newest.description) == (
        Status.EXCEPTION,
        Reason.WEATHER,
        "Storm",
    )
    assert newest.location.to_dict() == {
        "city": "Atlanta",
        "region": "GA",
        "postal_code": "30301",
        "country": "US",
    }
    assert result.delivered_at is None
    assert result.estimated_delivery is None  # the newest statement withdrew the ETA


def test_as_of_hides_later_scans_and_eta_statements(world: SandboxWorld) -> None:
    result = world.tracking("alpha", "A1", BEFORE_STORM)
    assert result is not None
    assert len(result.events) == 2
    assert (result.status, result.reason) == (Status.IN_TRANSIT, None)
    eta = result.estimated_delivery
    assert eta is not None  # the window stated at 06:00 UTC, not the later withdrawal
    assert eta.earliest == datetime(2026, 11, 23, 9, 0, tzinfo=EST)
    assert eta.latest == datetime(2026, 11, 23, 13, 0, tzinfo=EST)
    assert isinstance(eta.earliest, datetime)
    assert eta.earliest.utcoffset() == timedelta(hours=-5)
    early = world.tracking("alpha", "A1", datetime(2026, 11, 19, 0, 0, tzinfo=UTC))
    assert early is not None
    assert early.estimated_delivery is not None
    assert early.estimated_delivery.earliest == date(2026, 11, 22)
    assert early.estimated_delivery.latest == date(2026, 11, 22)


def test_as_of_is_inclusive_and_compares_instants(world: SandboxWorld) -> None:
    at_scan = datetime(2026, 11, 19, 20, 30, tzinfo=UTC)  # = 14:30-06:00
    result = world.tracking("alpha", "A1", at_scan)
    assert result is not None
    assert len(result.events) == 2
    just_before = world.tracking("alpha", "A1", at_scan - timedelta(microseconds=1))
    assert just_before is not None
    assert len(just_before.events) == 1


def test_delivered_at_and_one_sided_eta(world: SandboxWorld) -> None:
    result = world.tracking("alpha", "A2")
    assert result is not None
    assert result.status is Status.DELIVERED
    assert result.delivered_at == datetime(2026, 11, 20, 11, 15, tzinfo=EST)
    assert result.delivered_at.utcoffset() == timedelta(hours=-5)
    assert result.estimated_delivery is not None
    assert (
        result.estimated_delivery.earliest == result.estimated_delivery.latest == date(2026, 11, 20)
    )
    assert result.events[1].location.to_dict() == {
        "city": None,
        "region": None,
        "postal_code": None,
        "country": None,
    }


def test_unknown_or_not_yet_scanned_numbers_are_none(world: SandboxWorld) -> None:
    assert world.tracking("alpha", "NOPE") is None
    assert world.tracking("alpha", "B1") is None  # beta's number, not alpha's
    assert world.tracking("gamma", "A1") is None
    assert world.tracking("alpha", "A3", BEFORE_STORM) is None  # first scan is later
    assert world.tracking("alpha", "A3") is not None
    assert world.tracking("alpha", "A1" * 40) is None  # longer than any stored number
    assert world.tracking("alpha", "Ä1") is None


def test_lookup_across_carriers(world: SandboxWorld) -> None:
    result = world.tracking(None, "B1")
    assert result is not None
    assert result.carrier == "beta"
    assert result.service is None
    assert world.tracking(None, "NOPE") is None


def test_world_facts(world: SandboxWorld) -> None:
    assert set(world.carriers) == {"alpha", "beta", "fedex"}
    assert world.scan_count == len(SCANS)
    assert world.tracking_numbers("alpha") == ["A1", "A2", "A3"]
    assert world.tracking_numbers("ALPHA") == ["A1", "A2", "A3"]
    assert world.tracking_numbers("gamma") == []


def test_as_of_must_be_aware(world: SandboxWorld) -> None:
    with pytest.raises(ValueError, match="offset"):
        world.tracking("alpha", "A1", datetime(2026, 11, 20, 12, 0))


def test_chunked_unsorted_load_matches(
    world_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shuffled = write_world(tmp_path / "shuffled", list(reversed(SCANS)), list(reversed(ETAS)))
    monkeypatch.setattr(table, "CHUNK_ROWS", 2)  # categories differ from chunk to chunk
    chunked = SandboxWorld.load(shuffled)
    monkeypatch.undo()
    whole = SandboxWorld.load(world_dir)
    for carrier, number, *_ in SCANS:
        for as_of in (None, BEFORE_STORM):
            assert chunked.tracking(carrier, number, as_of) == whole.tracking(
                carrier, number, as_of
            )


def test_empty_world_and_missing_eta_file(tmp_path: Path) -> None:
    empty = write_world(tmp_path / "empty", [], [])
    assert SandboxWorld.load(empty).tracking("alpha", "A1") is None
    no_etas = write_world(tmp_path / "no_etas", SCANS[:1], [])
    (no_etas / "tracking" / "etas.csv").unlink()
    result = SandboxWorld.load(no_etas / "tracking").tracking("alpha", "A1")
    assert result is not None
    assert result.estimated_delivery is None


@pytest.mark.parametrize(
    ("scans", "etas", "message"),
    [
        ([("alpha", "A1", "", "2026-11-18T09:00:00", "in_transit", "", "", "", "", "", "")],
         [], "has no UTC offset"),
        ([("alpha", "A1", "", "2026-11-18", "in_transit", "", "", "", "", "", "")],
         [], "has no UTC offset"),
        ([("alpha", "A1", "", "2026-13-18T09:00:00Z", "in_transit", "", "", "", "", "", "")],
         [], "unreadable timestamp"),
        ([("alpha", "A1", "", "2026-11-18T09:00:00Z", "moving", "", "", "", "", "", "")],
         [], "column status holds 'moving'"),
        ([("alpha", "A1", "", "2026-11-18T09:00:00Z", "exception", "aliens", "", "", "", "", "")],
         [], "column reason holds 'aliens'"),
        ([("alpha", "", "", "2026-11-18T09:00:00Z", "in_transit", "", "", "", "", "", "")],
         [], "empty tracking_number"),
        ([], [("alpha", "A1", "2026-11-18T09:00:00Z", "2026-11-22T10:00:00", "")],
         "has no UTC offset"),
        ([], [("alpha", "A1", "2026-11-18T09:00:00Z", "2026-02-30", "")], "unreadable date"),
    ],
)  # fmt: skip
def test_bad_world_files_name_the_problem(
    tmp_path: Path, scans: list, etas: list, message: str
) -> None:
    bad = write_world(tmp_path / "bad", scans, etas)
    with pytest.raises(ValueError, match=re.escape(message)):
        SandboxWorld.load(bad)


def test_departure_scans_are_read_when_the_world_marks_them(tmp_path: Path) -> None:
    """The optional ``departed`` column: ``true`` on a departure scan; a world written
    without it has none; any other value is refused, naming the fix."""
    folder = write_world(tmp_path / "old", SCANS, ETAS)
    result = SandboxWorld.load(folder).tracking("alpha", "A1")
    assert result is not None and not any(e.departed for e in result.events)
    marked = [(*row, "true" if row[6] == "Departed" else "") for row in SCANS]
    new = tmp_path / "new" / "tracking"
    write_world(tmp_path / "new", [], ETAS)
    with (new / "scans.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([(*SCAN_HEADER, "departed"), *marked])
    result = SandboxWorld.load(new).tracking("alpha", "A1")
    assert result is not None
    assert [(e.description, e.departed) for e in result.events] == [
        ("Storm", False),
        ("Departed", True),
        ("Label", False),
    ]
    with (new / "scans.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([(*SCAN_HEADER, "departed"), (*SCANS[0], "yes")])
    with pytest.raises(ValueError, match="column departed holds 'yes'; write true"):
        SandboxWorld.load(new)


def test_missing_files_and_columns(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"scans\.csv"):
        SandboxWorld.load(tmp_path)
    folder = tmp_path / "tracking"
    folder.mkdir()
    (folder / "scans.csv").write_text("carrier,tracking_number,occurred_at\n")
    with pytest.raises(ValueError, match=r"missing column.*service"):
        SandboxWorld.load(tmp_path)


# -- routing with a test codec ----------------------------------------------------------------


class EchoCodec:
    """A tiny wire format: POST /echo/track {"numbers": [...]} or GET /echo/track/<n>."""

    token_path: str | None = "/echo/oauth/token"

    def __init__(self, aggregator: bool | None = None) -> None:
        if aggregator is not None:
            self.aggregator = aggregator
        self.calls: list[tuple[list[str], list[str]]] = []

    def match(
        self, method: str, path: str, query: Mapping[str, list[str]], body: bytes
    ) -> list[str] | None:
        if method == "POST" and path == "/echo/track":
            return list(json.loads(body)["numbers"])
        if method == "GET" and path.startswith("/echo/track/"):
            return [path.removeprefix("/echo/track/")]
        return None

    def respond(self, found: Sequence[TrackingResult], missing: Sequence[str]) -> tuple[int, bytes]:
        self.calls.append(([r.tracking_number for r in found], list(missing)))
        if "BOOM" in missing:
            raise RuntimeError("codec bug")
        body = {"found": [r.to_dict() for r in found], "missing": list(missing)}
        return (200 if found else 404), json.dumps(body).encode()


def echo_spec(name: str = "alpha", codec: EchoCodec | None = None) -> CarrierSpec:
    return CarrierSpec(
        name=name,
        title=name.title(),
        parse=lambda payload: [],
        sniff=lambda payload: False,
        sandbox=codec or EchoCodec(),
    )


@pytest.fixture
def echo_server(world: SandboxWorld) -> Iterator[SandboxServer]:
    with SandboxServer(world, carriers=[echo_spec()]) as server:
        yield server


def track(base_url: str, *numbers: str) -> requests.Response:
    return requests.post(f"{base_url}/echo/track", json={"numbers": list(numbers)}, timeout=5)


def test_as_of_prefix_in_the_url(echo_server: SandboxServer) -> None:
    later = track(echo_server.base_url, "A1").json()["found"][0]
    assert later["status"] == "exception"
    assert later["estimated_delivery"] is None
    url = echo_server.url_for(BEFORE_STORM)
    assert url == f"{echo_server.base_url}/asof/2026-11-20T12:00:00%2B00:00"
    before = track(url, "A1").json()["found"][0]
    assert before["status"] == "in_transit"
    assert len(before["events"]) == 2
    assert before["estimated_delivery"] == {
        "earliest": "2026-11-23T09:00:00-05:00",
        "latest": "2026-11-23T13:00:00-05:00",
    }
    get = requests.get(f"{url}/echo/track/A1", timeout=5).json()
    assert get["found"][0]["status"] == "in_transit"


def test_default_as_of_and_url_override(world: SandboxWorld) -> None:
    with SandboxServer(world, as_of=BEFORE_STORM, carriers=[echo_spec()]) as server:
        assert track(server.base_url, "A1").json()["found"][0]["status"] == "in_transit"
        assert track(server.base_url, "A3").json()["missing"] == ["A3"]
        later = server.url_for(datetime(2026, 11, 30, tzinfo=UTC))
        assert track(later, "A1").json()["found"][0]["status"] == "exception"


def test_missing_numbers_go_to_the_codec(echo_server: SandboxServer) -> None:
    reply = track(echo_server.base_url, "A1", "NOPE", "A1", "B1")
    assert reply.status_code == 200
    body = reply.json()
    assert [r["tracking_number"] for r in body["found"]] == ["A1"]
    assert body["missing"] == ["NOPE", "B1"]  # duplicates asked once; B1 is beta's
    assert reply.headers["Content-Type"] == "application/json"


def test_token_endpoint(echo_server: SandboxServer) -> None:
    first = requests.post(f"{echo_server.base_url}/echo/oauth/token", timeout=5)
    second = requests.post(
        f"{echo_server.url_for(BEFORE_STORM)}/echo/oauth/token",
        data={"grant_type": "client_credentials"},
        timeout=5,
    )
    for reply in (first, second):
        assert reply.status_code == 200
        body = reply.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 3600
        assert len(body["access_token"]) >= 20
    assert first.json()["access_token"] != second.json()["access_token"]
    assert echo_server.token_counts == {"/echo/oauth/token": 2}
    assert echo_server.request_counts == {}
    not_post = requests.get(f"{echo_server.base_url}/echo/oauth/token", timeout=5)
    assert not_post.status_code == 404


def test_requests_are_counted_per_carrier(world: SandboxWorld) -> None:
    specs = [echo_spec("alpha"), echo_spec("beta", EchoCodec())]
    with SandboxServer(world, carriers=specs) as server:
        for _ in range(3):
            track(server.base_url, "A1")
        requests.get(f"{server.base_url}/nowhere", timeout=5)
        assert server.request_counts == {"alpha": 3}


def test_unknown_path_and_bad_as_of(echo_server: SandboxServer) -> None:
    missing = requests.get(f"{echo_server.base_url}/v1/whatever?x=1", timeout=5)
    assert missing.status_code == 404
    assert missing.json() == {"error": "no carrier sandbox handles GET /v1/whatever"}
    naive = requests.get(
        f"{echo_server.base_url}/asof/2026-11-20T10:00:00/echo/track/A1", timeout=5
    )
    assert naive.status_code == 400
    assert "no UTC offset" in naive.json()["error"]
    garbage = requests.get(f"{echo_server.base_url}/asof/yesterday/echo/track/A1", timeout=5)
    assert garbage.status_code == 400


def test_codec_failure_is_a_500_and_the_server_lives_on(echo_server: SandboxServer) -> None:
    failed = track(echo_server.base_url, "BOOM")
    assert failed.status_code == 500
    assert "alpha sandbox codec failed: codec bug" in failed.json()["error"]
    assert track(echo_server.base_url, "A2").status_code == 200


@pytest.mark.parametrize(
    ("name", "aggregator", "carrier_found"),
    [
        ("hub", None, "beta"),  # carrier moves no parcel in the world: an aggregator
        ("hub", False, None),  # declared not to be one
        ("alpha", True, "beta"),  # declared to be one though the world has alpha parcels
    ],
)
def test_aggregators_look_across_carriers(
    world: SandboxWorld, name: str, aggregator: bool | None, carrier_found: str | None
) -> None:
    with SandboxServer(world, carriers=[echo_spec(name, EchoCodec(aggregator))]) as server:
        body = track(server.base_url, "B1").json()
    found = [r["carrier"] for r in body["found"]]
    assert found == ([carrier_found] if carrier_found else [])


def test_carrier_session_through_the_sandbox(echo_server: SandboxServer) -> None:
    TOKEN_CACHE.clear()
    settings = ClientSettings(
        base_url=echo_server.url_for(BEFORE_STORM), client_id="id", client_secret="secret"
    )
    auth = OAuth2ClientCredentials(token_path="/echo/oauth/token")
    with CarrierSession("alpha", settings, auth=auth) as session:
        first = session.request("GET", "/echo/track/A1")
        second = session.request("POST", "/echo/track", json={"numbers": ["NOPE"]})
    assert first.json()["found"][0]["status"] == "in_transit"
    assert second.status_code == 404
    assert second.json()["missing"] == ["NOPE"]
    assert echo_server.token_counts == {"/echo/oauth/token": 1}
    assert echo_server.request_counts == {"alpha": 2}


def test_server_lifecycle(world_dir: Path) -> None:
    server = SandboxServer(world_dir, carriers=[echo_spec()])
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url
    with server:
        assert track(server.base_url, "A2").status_code == 200
        with pytest.raises(ValueError, match="aware"):
            server.url_for(datetime(2026, 11, 20))
    with pytest.raises(RuntimeError):
        _ = server.port


def test_cli_serves_until_stopped(world_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stop = threading.Event()
    codes: list[int] = []
    runner = threading.Thread(
        target=lambda: codes.append(
            main(["--world", str(world_dir), "--as-of", "2026-11-20T12:00:00+00:00"], stop=stop)
        )
    )
    runner.start()
    deadline = time.monotonic() + 10
    url = None
    while url is None and time.monotonic() < deadline:
        found = re.search(r"carrier sandbox at (http://127\.0\.0\.1:\d+)", capsys.readouterr().out)
        url = found.group(1) if found else None
        time.sleep(0.02)
    try:
        assert url is not None
        assert requests.get(f"{url}/nowhere", timeout=5).status_code == 404
    finally:
        stop.set()
        runner.join(10)
    assert codes == [0]
    assert "tracking requests served" in capsys.readouterr().out


def test_module_entry_point_stops_on_sigterm(world_dir: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "carriers.sandbox", "--world", str(world_dir)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        found = re.search(r"carrier sandbox at (http://127\.0\.0\.1:\d+)", "".join(lines))
        assert found is not None, lines
        sent = requests.post(f"{found.group(1)}/track/v1/trackingnumbers", data=b"{}", timeout=5)
        assert sent.status_code in (200, 400, 404)
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "stopped; tracking requests served" in out


def test_cli_rejects_naive_as_of(world_dir: Path) -> None:
    with pytest.raises(SystemExit):
        main(["--world", str(world_dir), "--as-of", "2026-11-20T12:00:00"])


# -- real carriers -------------------------------------------------------------------------


def registered(name: str) -> CarrierSpec:
    try:
        return registry.get(name)
    except KeyError:
        pytest.skip(f"carrier {name} is not built yet")


def test_fedex_client_end_to_end(world: SandboxWorld) -> None:
    fedex = registered("fedex")
    assert fedex.make_client is not None
    TOKEN_CACHE.clear()
    with SandboxServer(world) as server:
        settings = ClientSettings(
            base_url=server.url_for(BEFORE_STORM), client_id="id", client_secret="secret"
        )
        client = fedex.make_client(settings)
        bodies = client.track(["794600000001", "794600000002", "000000000000"])
        bodies += client.track(["794600000001"])
        assert server.request_counts["fedex"] == 2
        assert server.token_counts == {"/oauth/token": 1}
    results = {r.tracking_number: r for body in bodies for r in fedex.parse(body)}
    weather = results["794600000001"]
    assert weather.carrier == "fedex"
    assert (weather.status, weather.reason) == (Status.IN_TRANSIT, None)  # storm not yet seen
    assert [e.occurred_at for e in weather.events] == [
        datetime(2026, 11, 19, 14, 30, tzinfo=CST),
        datetime(2026, 11, 18, 9, 0, tzinfo=EST),
    ]
    assert weather.estimated_delivery is not None
    assert weather.estimated_delivery.earliest == date(2026, 11, 22)
    delivered = results["794600000002"]
    assert delivered.status is Status.DELIVERED
    assert delivered.delivered_at == datetime(2026, 11, 20, 6, 5, tzinfo=EST)
    missing = results["000000000000"]
    assert missing.status is Status.UNKNOWN
    assert [p.kind for p in missing.problems] == [ProblemKind.NOT_FOUND]
    assert missing.problems[0].code == "TRACKING.TRACKINGNUMBER.NOTFOUND"


def test_fedex_sees_the_storm_later(world: SandboxWorld) -> None:
    fedex = registered("fedex")
    assert fedex.make_client is not None
    with SandboxServer(world) as server:
        settings = ClientSettings(base_url=server.base_url, client_id="id", client_secret="s")
        [body] = fedex.make_client(settings).track(["794600000001"])
    [result] = fedex.parse(body)
    assert (result.status, result.reason) == (Status.EXCEPTION, Reason.WEATHER)
    assert result.estimated_delivery is None  # withdrawn with the storm
    assert len(result.events) == 3


@pytest.mark.parametrize("name", registry.CARRIER_MODULES)
def test_every_registered_client_against_the_sandbox(tmp_path: Path, name: str) -> None:
    spec = registered(name)
    if spec.sandbox is None or spec.make_client is None:
        pytest.skip(f"{name} has no sandbox codec or no client")
    number = "1Z999AA10123456784" if name != "fedex" else "794600000003"
    carrier = name if name in ("fedex", "ups", "usps", "dhl", "canadapost", "amazon") else "ups"
    place = ("Atlanta", "GA", "30301", "US")
    rows = [
        (carrier, number, "Ground", "2026-11-18T09:00:00-05:00", "info_received", "", "Label", *place),
        (carrier, number, "Ground", "2026-11-19T10:30:00-05:00", "in_transit", "", "Departed", *place),
    ]  # fmt: skip
    etas = [(carrier, number, "2026-11-18T09:00:00-05:00", "2026-11-22", "2026-11-22")]
    world = SandboxWorld.load(write_world(tmp_path, rows, etas))
    TOKEN_CACHE.clear()
    with SandboxServer(world) as server:
        settings = ClientSettings(
            base_url=server.url_for(BEFORE_STORM),
            client_id="id",
            client_secret="secret",
            api_key="key",
        )
        bodies = spec.make_client(settings).track([number, "NOTANUMBER0000"])
        assert server.request_counts.get(name, 0) >= 1
    results = [r for body in bodies for r in spec.parse(body)]
    known = [r for r in results if r.tracking_number == number]
    assert len(known) == 1
    assert known[0].status is Status.IN_TRANSIT
    assert known[0].carrier == carrier
    assert known[0].events[0].occurred_at == datetime(2026, 11, 19, 10, 30, tzinfo=EST)
    for other in results:
        if other.tracking_number != number:  # absent, or reported as not found
            assert ProblemKind.NOT_FOUND in {p.kind for p in other.problems}
