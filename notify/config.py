"""Configuration: the one module that reads the environment.

Every setting has an ``OASIS_*`` environment variable and a default that works on a laptop
(SQLite under ``.oasis/``, the carrier sandbox, the file channel). Credentials for carriers
and providers may instead come from Airflow Connections (see :func:`carrier_client_settings`).
Nothing else in the code base reads ``os.environ``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from carriers.registry import ClientSettings


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@contextmanager
def overridden(values: dict[str, str]) -> Iterator[None]:
    """Settings for an in-process replay (``oasis score-runs``): the pipeline steps read
    their settings from the environment, so these values are set for the block and the
    previous ones put back afterwards."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    outbox_dir: Path
    environment: str  # "development" | "production": outside production nothing leaves the box
    channels: tuple[str, ...]
    carriers: tuple[str, ...]
    carrier_base_urls: dict[str, str] = field(default_factory=dict)
    stall_hours: float | None = None  # overrides the rules file's default stall threshold
    freshness_hours: float = 72.0
    sms_quiet_start: int = 21
    sms_quiet_end: int = 8
    max_eta_window_days: int = 3
    max_notices: int = 50000
    support_contact: str = "support@example.com, +1 555 0100"
    tracking_url_template: str = "https://shop.example.com/orders/{order_id}/tracking"
    orders_url: str = "https://shop.example.com/orders"  # all of a customer's orders ("": none)
    brand_name: str = "Oasis Demo Shop"
    sender_email: str = "updates@example.com"
    templates_dir: Path = Path(__file__).resolve().parent.parent / "templates"
    default_locale: str = "en-US"
    support_hours: str = "mon-fri 08:00-20:00; sat 09:00-13:00"
    support_timezone: str = "America/New_York"
    max_open_share: float = 0.5
    max_quarantine_share: float = 0.2
    volume_history_days: int = 28
    volume_history_factor: float = 3.0
    volume_history_slack: int = 50
    max_customers_per_recipient: int = 2
    alert_webhook_url: str | None = None  # ops alerts: JSON POST (Slack/Teams-style "text")
    alert_emails: tuple[str, ...] = ()  # ops alerts through Airflow's email backend
    rules_file: Path | None = None  # delay detection and ETA rules (None: the packaged ones)

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"


def load_settings() -> Settings:
    home = Path(_env("OASIS_HOME", ".oasis")).resolve()
    default_db = _store_connection_url() or f"sqlite:///{home / 'oasis.db'}"
    base_urls = json.loads(_env("OASIS_CARRIER_BASE_URLS", "{}"))
    return Settings(
        home=home,
        database_url=_env("OASIS_DATABASE_URL", default_db),
        outbox_dir=Path(_env("OASIS_OUTBOX_DIR", str(home / "outbox"))).resolve(),
        environment=_env("OASIS_ENVIRONMENT", "development"),
        channels=tuple(c for c in _env("OASIS_CHANNELS", "email,sms").split(",") if c),
        carriers=tuple(c for c in _env("OASIS_CARRIERS", "fedex,ups,usps,dhl").split(",") if c),
        carrier_base_urls={str(k): str(v) for k, v in base_urls.items()},
        stall_hours=float(stall) if (stall := _env("OASIS_STALL_HOURS", "")) else None,
        freshness_hours=float(_env("OASIS_FRESHNESS_HOURS", "72")),
        max_eta_window_days=int(_env("OASIS_MAX_ETA_WINDOW_DAYS", "3")),
        max_notices=int(_env("OASIS_MAX_NOTICES", "50000")),
        support_contact=_env("OASIS_SUPPORT_CONTACT", "support@example.com, +1 555 0100"),
        tracking_url_template=_env(
            "OASIS_TRACKING_URL_TEMPLATE", "https://shop.example.com/orders/{order_id}/tracking"
        ),
        orders_url=_env("OASIS_ORDERS_URL", "https://shop.example.com/orders"),
        brand_name=_env("OASIS_BRAND_NAME", "Oasis Demo Shop"),
        sender_email=_env("OASIS_SENDER_EMAIL", "updates@example.com"),
        templates_dir=Path(
            _env("OASIS_TEMPLATES_DIR", str(Path(__file__).resolve().parent.parent / "templates"))
        ).resolve(),
        default_locale=_env("OASIS_DEFAULT_LOCALE", "en-US"),
        support_hours=_env("OASIS_SUPPORT_HOURS", "mon-fri 08:00-20:00; sat 09:00-13:00"),
        support_timezone=_env("OASIS_SUPPORT_TIMEZONE", "America/New_York"),
        max_open_share=float(_env("OASIS_MAX_OPEN_SHARE", "0.5")),
        max_quarantine_share=float(_env("OASIS_MAX_QUARANTINE_SHARE", "0.2")),
        volume_history_days=int(_env("OASIS_VOLUME_HISTORY_DAYS", "28")),
        volume_history_factor=float(_env("OASIS_VOLUME_HISTORY_FACTOR", "3")),
        volume_history_slack=int(_env("OASIS_VOLUME_HISTORY_SLACK", "50")),
        max_customers_per_recipient=int(_env("OASIS_MAX_CUSTOMERS_PER_RECIPIENT", "2")),
        alert_webhook_url=_env("OASIS_ALERT_WEBHOOK_URL", "") or None,
        alert_emails=tuple(
            e.strip() for e in _env("OASIS_ALERT_EMAILS", "").split(",") if e.strip()
        ),
        rules_file=Path(rules).resolve() if (rules := _env("OASIS_RULES_FILE", "")) else None,
    )


def carrier_client_settings(carrier: str, base_url: str | None = None) -> ClientSettings:
    """Client settings for one carrier.

    Order of precedence: an Airflow Connection ``oasis_carrier_<name>`` (host = base URL,
    login = client id, password = client secret, extra ``{"api_key": ...}``) when Airflow is
    configured; then ``OASIS_<NAME>_BASE_URL``, ``OASIS_<NAME>_CLIENT_ID``,
    ``OASIS_<NAME>_CLIENT_SECRET``, ``OASIS_<NAME>_API_KEY``; then the explicit base URL.
    """
    prefix = f"OASIS_{carrier.upper()}_"
    from_conn = _airflow_connection(f"oasis_carrier_{carrier}")
    url = base_url or os.environ.get(prefix + "BASE_URL") or (from_conn or {}).get("host")
    if not url:
        from carriers import registry

        url = registry.get(carrier).default_base_url or ""
    conn = from_conn or {}
    return ClientSettings(
        base_url=url,
        client_id=os.environ.get(prefix + "CLIENT_ID") or conn.get("login"),
        client_secret=os.environ.get(prefix + "CLIENT_SECRET") or conn.get("password"),
        api_key=os.environ.get(prefix + "API_KEY") or conn.get("api_key"),
        requests_per_second=float(os.environ.get(prefix + "RATE", "10")),
        timeout_seconds=float(os.environ.get(prefix + "TIMEOUT", "10")),
    )


def _airflow_connection(conn_id: str) -> dict[str, str] | None:
    """An Airflow Connection's fields, or None when Airflow has no such connection."""
    if f"AIRFLOW_CONN_{conn_id.upper()}" not in os.environ and not _env_bool(
        "OASIS_USE_AIRFLOW_CONNECTIONS", False
    ):
        return None
    try:
        from airflow.sdk import Connection

        conn = Connection.get(conn_id)
    except Exception:  # any lookup failure means "not configured here"
        return None
    extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else {}
    fields = {"host": conn.host or "", "login": conn.login or "", "password": conn.password or ""}
    fields["port"] = str(getattr(conn, "port", None) or "")
    fields.update({k: str(v) for k, v in extra.items()})
    return {k: v for k, v in fields.items() if v}


def _store_connection_url() -> str | None:
    """The store from an Airflow Connection ``oasis_store`` (type postgres: host, port,
    schema = database, login, password), used when ``OASIS_DATABASE_URL`` is not set."""
    if "AIRFLOW_CONN_OASIS_STORE" not in os.environ and not _env_bool(
        "OASIS_USE_AIRFLOW_CONNECTIONS", False
    ):
        return None
    try:
        from airflow.sdk import Connection

        conn = Connection.get("oasis_store")
    except Exception:  # any lookup failure means "not configured here"
        return None
    from sqlalchemy.engine import URL

    url = URL.create(
        "postgresql+psycopg2",
        username=conn.login or None,
        password=conn.password or None,
        host=conn.host or None,
        port=conn.port or None,
        database=conn.schema or None,
    )
    return url.render_as_string(hide_password=False)


def sandbox_client_settings(base_url: str) -> ClientSettings:
    """Client settings for the local carrier sandbox (it accepts any credentials)."""
    return ClientSettings(
        base_url=base_url,
        client_id="sandbox",
        client_secret="sandbox",  # noqa: S106 - the sandbox's documented dummy credential
        api_key="sandbox",
        requests_per_second=1000.0,
        timeout_seconds=30.0,
    )


def webhook_secrets() -> dict[str, str | None]:
    """Webhook signing secrets per aggregator (None when not configured)."""
    return {
        "easypost": os.environ.get("OASIS_EASYPOST_WEBHOOK_SECRET") or None,
        "aftership": os.environ.get("OASIS_AFTERSHIP_WEBHOOK_SECRET") or None,
    }


SERIOUS_CAUSES = "lost,damaged,returning_to_sender,returned_to_sender"
ACTION_CAUSES = "address_issue,held_for_payment,incorrect_documents,refused"


def _env_set(name: str, default: str) -> frozenset[str]:
    return frozenset(v.strip() for v in _env(name, default).split(",") if v.strip())


def _env_window(name: str, default: str) -> tuple[int, int]:
    """``HH:MM-HH:MM`` as minutes after local midnight (start inclusive, end exclusive)."""
    raw = _env(name, default)
    try:
        start, end = (int(h) * 60 + int(m) for h, m in (p.split(":") for p in raw.split("-")))
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a window like 08:00-21:00") from exc
    if not 0 <= start < end <= 24 * 60:
        raise ValueError(f"{name}={raw!r}: the window must start before it ends, within a day")
    return start, end


@dataclass(frozen=True)
class TargetingSettings:
    """Who hears from us and when: contact policy and escalation thresholds (README)."""

    sms_window: tuple[int, int] = (8 * 60, 21 * 60)  # local minutes SMS may go out
    max_notices_per_day: int = 2  # per customer, rolling 24 h; critical changes bypass it
    always_notify_causes: frozenset[str] = frozenset(f"{SERIOUS_CAUSES},{ACTION_CAUSES}".split(","))
    critical_causes: frozenset[str] = frozenset(f"{SERIOUS_CAUSES},{ACTION_CAUSES}".split(","))
    unknown_eta_notify_hours: float = 36.0  # ETA unknown: tell once the promise is this close
    # our window after the promise tells "late" at this delay probability or more (the rules
    # file's eta.notify_min_p_late); below it the promise is at risk (ADR 0016)
    notify_min_p_late: float = 0.995
    # the carrier says "running late" (or a delay without a cause, e.g. USPS 71 "rescheduled to
    # next delivery day", FedEx DY) but keeps its first day, which is the promised day: late
    schedule_delay_causes: frozenset[str] = frozenset({"transport_delay", "unknown"})
    # held at its exception past the carrier's (un-replanned) day of today or tomorrow: told
    # when the promised day leaves at most this many days to spare after that day
    held_spare_days: int = 1
    next_update_hours: float = 24.0  # a notice told without a window: next update within this
    # each further "still no date" update promises the next one twice as far out, up to this
    next_update_max_hours: float = 72.0
    escalate_causes: frozenset[str] = frozenset(SERIOUS_CAUSES.split(","))
    escalate_delay_days: int = 5  # new ETA this many days past the promise -> a person
    escalate_repeat_delays: int = 2  # this many delay spells on one order -> a person
    escalate_order_value: float | None = 500.0  # orders worth at least this -> a person
    need_by_margin_days: int = 0  # need-by at risk when the ETA is later than need-by - margin
    no_channel_escalate_days: int = 2  # unreachable customer: escalate when this late
    escalation_mode: str = "alongside"  # alongside: notice + case; instead: case only
    follow_ups: bool = True  # "delivered after all" / "resolved" notices to those told
    follow_up_hours: float = 72.0  # how long after the episode closed a follow-up may go


def _rules_notify_min_p_late() -> float:
    """``eta.notify_min_p_late`` of the deployment's rules file (``OASIS_RULES_FILE``)."""
    from notify.rules import load_rules  # the rules module reads this one's settings

    return load_rules(_env("OASIS_RULES_FILE", "") or None).eta.notify_min_p_late


def load_targeting_settings() -> TargetingSettings:
    value = _env("OASIS_ESCALATE_ORDER_VALUE", "500").strip()
    mode = _env("OASIS_ESCALATION_MODE", "alongside").strip().lower()
    if mode not in ("alongside", "instead"):
        raise ValueError(f"OASIS_ESCALATION_MODE={mode!r}: use alongside or instead")
    causes = f"{SERIOUS_CAUSES},{ACTION_CAUSES}"
    return TargetingSettings(
        sms_window=_env_window("OASIS_SMS_WINDOW", "08:00-21:00"),
        max_notices_per_day=int(_env("OASIS_MAX_NOTICES_PER_DAY", "2")),
        always_notify_causes=_env_set("OASIS_ALWAYS_NOTIFY_CAUSES", causes),
        critical_causes=_env_set("OASIS_CRITICAL_CAUSES", causes),
        unknown_eta_notify_hours=float(_env("OASIS_UNKNOWN_ETA_NOTIFY_HOURS", "36")),
        notify_min_p_late=_rules_notify_min_p_late(),
        schedule_delay_causes=_env_set("OASIS_SCHEDULE_DELAY_CAUSES", "transport_delay,unknown"),
        held_spare_days=int(_env("OASIS_HELD_SPARE_DAYS", "1")),
        next_update_hours=float(_env("OASIS_NEXT_UPDATE_HOURS", "24")),
        next_update_max_hours=float(_env("OASIS_NEXT_UPDATE_MAX_HOURS", "72")),
        escalate_causes=_env_set("OASIS_ESCALATE_CAUSES", SERIOUS_CAUSES),
        escalate_delay_days=int(_env("OASIS_ESCALATE_DELAY_DAYS", "5")),
        escalate_repeat_delays=int(_env("OASIS_ESCALATE_REPEAT_DELAYS", "2")),
        escalate_order_value=float(value) if value else None,
        need_by_margin_days=int(_env("OASIS_NEED_BY_MARGIN_DAYS", "0")),
        no_channel_escalate_days=int(_env("OASIS_NO_CHANNEL_ESCALATE_DAYS", "2")),
        escalation_mode=mode,
        follow_ups=_env_bool("OASIS_FOLLOW_UPS", True),
        follow_up_hours=float(_env("OASIS_FOLLOW_UP_HOURS", "72")),
    )


@dataclass(frozen=True)
class HelpdeskSettings:
    """Where escalation cases go: ``kind`` none (listed by ``oasis cases`` only) or zendesk."""

    kind: str = "none"
    url: str = ""
    email: str = ""
    token: str = ""
    group_id: str = ""
    timeout_seconds: float = 10.0


def helpdesk_settings() -> HelpdeskSettings:
    """Help-desk settings: ``OASIS_HELPDESK_*``, else the Airflow Connection ``oasis_helpdesk``
    (host = base URL, login = agent email, password = API token, extra ``{"kind": "zendesk",
    "group_id": ...}``).
    """
    conn = _airflow_connection("oasis_helpdesk") or {}
    url = os.environ.get("OASIS_HELPDESK_URL") or conn.get("host", "")
    kind = os.environ.get("OASIS_HELPDESK") or conn.get("kind") or ("zendesk" if url else "none")
    return HelpdeskSettings(
        kind=kind.strip().lower(),
        url=url,
        email=os.environ.get("OASIS_HELPDESK_EMAIL") or conn.get("login", ""),
        token=os.environ.get("OASIS_HELPDESK_TOKEN") or conn.get("password", ""),
        group_id=os.environ.get("OASIS_HELPDESK_GROUP_ID") or conn.get("group_id", ""),
        timeout_seconds=float(os.environ.get("OASIS_HELPDESK_TIMEOUT", "10")),
    )


@dataclass(frozen=True)
class OrderSourceSettings:
    """Where orders come from when a run names no order folder (see notify.sources)."""

    kind: str  # "" (only --orders DIR / orders_dir), "files" or "sql"
    name: str  # the source's name in the store (watermark); default: the mapping's name
    mapping: str  # sql: magento2, woocommerce or a folder of SQL files
    orders_dir: str  # files: the order folder
    options: dict[str, object]  # sql: mapping option overrides (promise_days, table_prefix...)
    overlap_minutes: float  # sql: re-read this much before the watermark (late commits)
    chunk_rows: int  # sql: rows per streamed chunk


def order_source_settings() -> OrderSourceSettings:
    options = json.loads(_env("OASIS_ORDER_SOURCE_OPTIONS", "{}"))
    if not isinstance(options, dict):
        raise ValueError(
            'OASIS_ORDER_SOURCE_OPTIONS must be a JSON object, e.g. {"promise_days": 5}'
        )
    return OrderSourceSettings(
        kind=_env("OASIS_ORDER_SOURCE", "").strip().lower(),
        name=_env("OASIS_ORDER_SOURCE_NAME", "").strip(),
        mapping=_env("OASIS_ORDER_MAPPING", "").strip(),
        orders_dir=_env("OASIS_ORDERS_DIR", "").strip(),
        options={str(k): v for k, v in options.items()},
        overlap_minutes=float(_env("OASIS_ORDER_SOURCE_OVERLAP_MINUTES", "10")),
        chunk_rows=int(_env("OASIS_ORDER_SOURCE_CHUNK_ROWS", "5000")),
    )


_SHOP_DRIVERS = {
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
    "sqlite": "sqlite",
}


def shop_database_url() -> str | None:
    """The shop database's SQLAlchemy URL (a secret: never log it).

    ``OASIS_SHOP_DB_URL`` first; else the Airflow Connection ``oasis_shop_db`` (type mysql or
    postgres; host, port, login, password, schema = database; extra ``{"drivername":
    "mysql+pymysql"}`` to choose another driver) when Airflow is configured.
    """
    url = os.environ.get("OASIS_SHOP_DB_URL")
    if url:
        return url
    if "AIRFLOW_CONN_OASIS_SHOP_DB" not in os.environ and not _env_bool(
        "OASIS_USE_AIRFLOW_CONNECTIONS", False
    ):
        return None
    try:
        from airflow.sdk import Connection

        conn = Connection.get("oasis_shop_db")
    except Exception:  # any lookup failure means "not configured here"
        return None
    from sqlalchemy.engine import URL

    extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else {}
    driver = str(extra.get("drivername") or _SHOP_DRIVERS.get(str(conn.conn_type).lower(), ""))
    if not driver:
        raise ValueError(
            f"Airflow Connection oasis_shop_db has type {conn.conn_type!r}: use mysql or "
            'postgres, or set its extra {"drivername": "mysql+pymysql"}'
        )
    return URL.create(
        driver,
        username=conn.login or None,
        password=conn.password or None,
        host=conn.host or None,
        port=conn.port or None,
        database=conn.schema or None,
    ).render_as_string(hide_password=False)


# --- Delivery: channel providers, the send run's limits, the way back -------------------


@dataclass(frozen=True)
class SendGridSettings:
    api_key: str | None
    host: str
    from_email: str
    from_name: str
    asm_group_id: int | None
    asm_groups_to_display: tuple[int, ...]
    categories: tuple[str, ...]
    sandbox_mode: bool
    timeout_seconds: float
    rate_per_second: float
    max_rate_wait_seconds: float
    webhook_public_key: str | None


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str | None
    auth_token: str | None
    base_url: str
    messaging_service_sid: str | None
    from_number: str | None
    status_callback_url: str | None
    timeout_seconds: float
    rate_per_second: float
    retry_delay_seconds: float  # the one delayed retry after error 30003


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    security: str  # none | starttls | ssl
    ca_file: str | None
    timeout_seconds: float
    rate_per_second: float


@dataclass(frozen=True)
class DeliverySettings:
    environment: str
    email_provider: str  # file | smtp | sendgrid
    sms_provider: str  # file | twilio
    allowed_recipients: tuple[str, ...]
    sendgrid: SendGridSettings
    twilio: TwilioSettings
    smtp: SmtpSettings
    unsubscribe_url: str  # https URL with {token}: RFC 8058 one-click target
    unsubscribe_secret: str | None
    public_base_url: str | None  # how providers reach `oasis serve` (Twilio signs this URL)
    webhook_max_age_seconds: float
    send_shards: int
    send_lease_seconds: float
    send_max_wait_minutes: float
    circuit_failures: int
    reconcile_release_hours: float  # 0: unknown keys wait for provider events or a person

    @property
    def production(self) -> bool:
        return self.environment == "production"

    def provider_for(self, channel: str) -> str:
        if channel == "email":
            return self.email_provider
        if channel == "sms":
            return self.sms_provider
        raise ValueError(f"unknown channel {channel!r}: use email or sms")


EMAIL_PROVIDERS = ("file", "smtp", "sendgrid")
SMS_PROVIDERS = ("file", "twilio")


def _choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = _env(name, default).strip().lower()
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(allowed)}")
    return value


def _csv(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())


def _first(*values: str | None) -> str | None:
    return next((v for v in values if v), None)


def _sendgrid_settings(base: Settings) -> SendGridSettings:
    conn = _airflow_connection("oasis_sendgrid") or {}
    asm = _first(os.environ.get("OASIS_SENDGRID_ASM_GROUP_ID"), conn.get("asm_group_id"))
    return SendGridSettings(
        api_key=_first(os.environ.get("OASIS_SENDGRID_API_KEY"), conn.get("password")),
        host=_first(os.environ.get("OASIS_SENDGRID_HOST"), conn.get("host"))
        or "https://api.sendgrid.com",
        from_email=_first(os.environ.get("OASIS_SENDGRID_FROM"), conn.get("from_email"))
        or base.sender_email,
        from_name=base.brand_name,
        asm_group_id=int(asm) if asm else None,
        asm_groups_to_display=tuple(
            int(g)
            for g in _csv(
                _first(
                    os.environ.get("OASIS_SENDGRID_ASM_GROUPS_TO_DISPLAY"),
                    conn.get("asm_groups_to_display"),
                )
            )
        ),
        categories=_csv(
            _first(os.environ.get("OASIS_SENDGRID_CATEGORIES"), conn.get("categories"))
            or "delivery-update"
        ),
        sandbox_mode=_env_bool("OASIS_SENDGRID_SANDBOX_MODE", False),
        timeout_seconds=float(_env("OASIS_SENDGRID_TIMEOUT", "10")),
        rate_per_second=float(_env("OASIS_SENDGRID_RATE", "50")),
        max_rate_wait_seconds=float(_env("OASIS_SENDGRID_MAX_RATE_WAIT", "120")),
        webhook_public_key=os.environ.get("OASIS_SENDGRID_WEBHOOK_PUBLIC_KEY") or None,
    )


def _twilio_settings() -> TwilioSettings:
    conn = _airflow_connection("oasis_twilio") or {}
    return TwilioSettings(
        account_sid=_first(os.environ.get("OASIS_TWILIO_ACCOUNT_SID"), conn.get("login")),
        auth_token=_first(os.environ.get("OASIS_TWILIO_AUTH_TOKEN"), conn.get("password")),
        base_url=_first(os.environ.get("OASIS_TWILIO_BASE_URL"), conn.get("host"))
        or "https://api.twilio.com",
        messaging_service_sid=_first(
            os.environ.get("OASIS_TWILIO_MESSAGING_SERVICE_SID"),
            conn.get("messaging_service_sid"),
        ),
        from_number=_first(os.environ.get("OASIS_TWILIO_FROM"), conn.get("from_number")),
        status_callback_url=_first(
            os.environ.get("OASIS_TWILIO_STATUS_CALLBACK_URL"), conn.get("status_callback")
        ),
        timeout_seconds=float(_env("OASIS_TWILIO_TIMEOUT", "10")),
        rate_per_second=float(_env("OASIS_TWILIO_RATE", "10")),
        retry_delay_seconds=float(_env("OASIS_TWILIO_RETRY_DELAY", "1800")),
    )


def _smtp_settings() -> SmtpSettings:
    conn = _airflow_connection("oasis_smtp") or {}
    security = _choice("OASIS_SMTP_SECURITY", conn.get("security") or "starttls",
                       ("none", "starttls", "ssl"))  # fmt: skip
    default_port = {"none": "25", "starttls": "587", "ssl": "465"}[security]
    return SmtpSettings(
        host=_first(os.environ.get("OASIS_SMTP_HOST"), conn.get("host")) or "localhost",
        port=int(_first(os.environ.get("OASIS_SMTP_PORT"), conn.get("port")) or default_port),
        username=_first(os.environ.get("OASIS_SMTP_USERNAME"), conn.get("login")),
        password=_first(os.environ.get("OASIS_SMTP_PASSWORD"), conn.get("password")),
        security=security,
        ca_file=os.environ.get("OASIS_SMTP_CA_FILE") or None,
        timeout_seconds=float(_env("OASIS_SMTP_TIMEOUT", "30")),
        rate_per_second=float(_env("OASIS_SMTP_RATE", "10")),
    )


def channel_provider(channel: str) -> str:
    """The provider a channel uses, from the environment alone (cheap: no Connections)."""
    if channel == "email":
        return _choice("OASIS_EMAIL_PROVIDER", "file", EMAIL_PROVIDERS)
    if channel == "sms":
        return _choice("OASIS_SMS_PROVIDER", "file", SMS_PROVIDERS)
    raise ValueError(f"unknown channel {channel!r}: use email or sms")


# One Airflow pool per channel's provider API (deploy/airflow/pools.json): a channel has one
# provider at a time, so its pool caps the concurrent send tasks calling that provider, and
# the DAG can name it without reading any configuration when it is parsed.
SEND_POOLS = {"email": "oasis_email_api", "sms": "oasis_sms_api"}


def send_pool(channel: str) -> str:
    """The Airflow pool of a channel's send tasks (whichever provider it is configured to)."""
    if channel not in SEND_POOLS:
        raise ValueError(f"unknown channel {channel!r}: use email or sms")
    return SEND_POOLS[channel]


def load_delivery_settings(base: Settings | None = None) -> DeliverySettings:
    """How messages leave (providers, limits, non-production allow-list) and come back."""
    base = base or load_settings()
    return DeliverySettings(
        environment=base.environment,
        email_provider=channel_provider("email"),
        sms_provider=channel_provider("sms"),
        allowed_recipients=_csv(os.environ.get("OASIS_ALLOWED_RECIPIENTS")),
        sendgrid=_sendgrid_settings(base),
        twilio=_twilio_settings(),
        smtp=_smtp_settings(),
        unsubscribe_url=_env(
            "OASIS_UNSUBSCRIBE_URL", "https://shop.example.com/unsubscribe/{token}"
        ),
        unsubscribe_secret=os.environ.get("OASIS_UNSUBSCRIBE_SECRET") or None,
        public_base_url=os.environ.get("OASIS_PUBLIC_BASE_URL") or None,
        webhook_max_age_seconds=float(_env("OASIS_PROVIDER_WEBHOOK_MAX_AGE", "300")),
        send_shards=max(1, int(_env("OASIS_SEND_SHARDS", "1"))),
        send_lease_seconds=float(_env("OASIS_SEND_LEASE_SECONDS", "300")),
        send_max_wait_minutes=float(_env("OASIS_SEND_MAX_WAIT_MINUTES", "120")),
        circuit_failures=max(1, int(_env("OASIS_CIRCUIT_FAILURES", "5"))),
        reconcile_release_hours=float(_env("OASIS_RECONCILE_RELEASE_HOURS", "0")),
    )
