"""Delay-detection and ETA rules, kept as data (``detection_rules.toml``) and versioned.

A change of any value is a new ``version``; every episode and ETA records the version
that produced it, so a run can always say which rules made a decision. Thresholds are
looked up per ``carrier:service``, then per ``carrier``, then ``default``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from carriers.taxonomy import Reason
from notify.calendars import CalendarSpec
from notify.config import Settings

RULES_FILE = Path(__file__).resolve().parent / "detection_rules.toml"


def _lookup(table: Mapping[str, Any], carrier: str, service: str | None) -> Any:
    for key in (f"{carrier}:{service}", carrier, "default"):
        if key in table:
            return table[key]
    raise KeyError(f"no 'default' entry for {carrier}:{service}")


@dataclass(frozen=True)
class IncidentRules:
    causes: frozenset[str] = frozenset({"weather", "natural_disaster"})
    min_parcels: int = 3
    within_hours: float = 12.0
    expire_hours: float = 96.0
    route_share: float = 0.5
    reach_share: float = 0.95


@dataclass(frozen=True)
class EtaRules:
    confidence: float = 0.95
    min_history: int = 20
    lookback_days: int = 120
    same_day_cutoff_hour: int = 12
    next_update_hours: float = 24.0
    keep_window_above: float = 0.9
    notify_min_p_late: float = 0.995
    uncertainty_z: float = 1.0
    training_grid_hours: float = 4.0
    waiting_days: float = 7.0
    waiting_sample: int = 20000
    not_coming_causes: frozenset[str] = frozenset(
        {"lost", "returning_to_sender", "returned_to_sender", "refused", "cancelled"}
    )
    max_window_days: int = 3  # from the OASIS_MAX_ETA_WINDOW_DAYS setting


@dataclass(frozen=True)
class DetectionRules:
    version: str = "builtin"
    stall: Mapping[str, float] = field(default_factory=lambda: {"default": 96.0})
    pickup: Mapping[str, float] = field(default_factory=lambda: {"default": 30.0})
    calendars: Mapping[str, CalendarSpec] = field(
        default_factory=lambda: {"default": CalendarSpec()}
    )
    regions: Mapping[str, str] = field(default_factory=dict)  # lane end -> region
    reopen_within_hours: float = 72.0
    always_notify_causes: frozenset[Reason] = frozenset(
        {
            Reason.LOST,
            Reason.DAMAGED,
            Reason.RETURNING_TO_SENDER,
            Reason.RETURNED_TO_SENDER,
            Reason.ADDRESS_ISSUE,
            Reason.HELD_FOR_PAYMENT,
            Reason.INCORRECT_DOCUMENTS,
            Reason.REFUSED,
        }
    )
    incidents: IncidentRules = IncidentRules()
    eta: EtaRules = EtaRules()

    @property
    def stall_hours(self) -> float:
        return float(self.stall["default"])

    def stall_hours_for(self, carrier: str, service: str | None) -> float:
        """Business hours without a scan after which a moving parcel counts as stalled."""
        return float(_lookup(self.stall, carrier, service))

    def pickup_grace_hours_for(self, carrier: str, service: str | None) -> float:
        return float(_lookup(self.pickup, carrier, service))

    @property
    def pickup_grace_hours(self) -> float:
        return float(self.pickup["default"])

    def calendar(self, carrier: str, service: str | None) -> CalendarSpec:
        spec: CalendarSpec = _lookup(self.calendars, carrier, service)
        return spec

    def with_settings(
        self, *, stall_hours: float | None = None, max_window_days: int | None = None
    ) -> DetectionRules:
        """These rules with the deployment's overrides (settings) applied."""
        out = self
        if stall_hours is not None:
            out = replace(out, stall={**out.stall, "default": float(stall_hours)})
        if max_window_days is not None:
            out = replace(out, eta=replace(out.eta, max_window_days=int(max_window_days)))
        return out


def _reason(value: str, path: Path) -> Reason:
    try:
        return Reason(value)
    except ValueError:
        known = ", ".join(r.value for r in Reason)
        raise ValueError(f"{path}: {value!r} is not a cause (one of {known})") from None


def _regions(raw: Mapping[str, list[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, ends in raw.items():
        for end in ends:
            code = end.upper()
            out[f"US-{code}" if len(code) == 2 else code] = name
    return out


def _numbers(raw: Mapping[str, Any], section: str, path: Path) -> dict[str, float]:
    if "default" not in raw:
        raise ValueError(f"{path}: [{section}] needs a 'default' entry")
    return {str(k): float(v) for k, v in raw.items()}


def _dataclass_from(cls: Any, raw: Mapping[str, Any], section: str, path: Path) -> Any:
    known = set(cls.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"{path}: [{section}] has unknown keys {sorted(unknown)}")
    values = dict(raw)
    for name in ("causes", "not_coming_causes"):
        if name in values:
            values[name] = frozenset(_reason(c, path).value for c in values[name])
    return cls(**values)


def parse_rules(raw: Mapping[str, Any], path: Path = RULES_FILE) -> DetectionRules:
    """Rules from a parsed TOML document; errors name the file and the bad entry."""
    if not isinstance(raw.get("version"), str):
        raise ValueError(f'{path}: needs a top-level version = "..."')
    episodes = raw.get("episodes", {})
    causes = episodes.get("always_notify_causes")
    calendars = {k: CalendarSpec(**v) for k, v in raw.get("calendars", {}).items()}
    calendars.setdefault("default", CalendarSpec())
    rules = DetectionRules(
        version=raw["version"],
        stall=_numbers(raw.get("stall", {"default": 96}), "stall", path),
        pickup=_numbers(raw.get("pickup", {"default": 30}), "pickup", path),
        calendars=calendars,
        regions=_regions(raw.get("regions", {})),
        reopen_within_hours=float(episodes.get("reopen_within_hours", 72)),
        incidents=_dataclass_from(IncidentRules, raw.get("incidents", {}), "incidents", path),
        eta=_dataclass_from(EtaRules, raw.get("eta", {}), "eta", path),
    )
    if causes is not None:
        rules = replace(rules, always_notify_causes=frozenset(_reason(c, path) for c in causes))
    return rules


def load_rules(path: Path | str | None = None) -> DetectionRules:
    """The rules in ``path`` (default: the packaged ``detection_rules.toml``)."""
    file = Path(path) if path else RULES_FILE
    try:
        raw = tomllib.loads(file.read_text("utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"rules file {file} does not exist (OASIS_RULES_FILE)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"rules file {file} is not valid TOML: {exc}") from None
    try:
        return parse_rules(raw, file)
    except (TypeError, ValueError) as exc:
        if str(file) in str(exc):
            raise
        raise ValueError(f"rules file {file}: {exc}") from None


def rules_for(settings: Settings) -> DetectionRules:
    """The deployment's rules: its rules file (or the packaged one) with its overrides."""
    return load_rules(settings.rules_file).with_settings(
        stall_hours=settings.stall_hours, max_window_days=settings.max_eta_window_days
    )


DEFAULT_RULES = load_rules()
