"""Configuration: the one module that reads the environment.

Every setting has an ``OASIS_*`` environment variable and a default that works on a laptop
(SQLite under ``.oasis/``, the carrier sandbox, the file channel). Credentials for carriers
and providers may instead come from Airflow Connections (see :func:`carrier_client_settings`).
Nothing else in the code base reads ``os.environ``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from carriers.registry import ClientSettings


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


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
    stall_hours: float = 48.0
    freshness_hours: float = 72.0
    sms_quiet_start: int = 21
    sms_quiet_end: int = 8
    max_eta_window_days: int = 3
    max_notices: int = 50000
    support_contact: str = "support@example.com, +1 555 0100, Mon-Fri 08:00-20:00"
    tracking_url_template: str = "https://shop.example.com/orders/{order_id}/tracking"
    brand_name: str = "Oasis Demo Shop"
    sender_email: str = "updates@example.com"
    templates_dir: Path = Path(__file__).resolve().parent.parent / "templates"
    default_locale: str = "en-US"
    alert_webhook_url: str | None = None  # ops alerts: JSON POST (Slack/Teams-style "text")
    alert_emails: tuple[str, ...] = ()  # ops alerts through Airflow's email backend

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
        stall_hours=float(_env("OASIS_STALL_HOURS", "48")),
        freshness_hours=float(_env("OASIS_FRESHNESS_HOURS", "72")),
        max_eta_window_days=int(_env("OASIS_MAX_ETA_WINDOW_DAYS", "3")),
        max_notices=int(_env("OASIS_MAX_NOTICES", "50000")),
        support_contact=_env(
            "OASIS_SUPPORT_CONTACT", "support@example.com, +1 555 0100, Mon-Fri 08:00-20:00"
        ),
        tracking_url_template=_env(
            "OASIS_TRACKING_URL_TEMPLATE", "https://shop.example.com/orders/{order_id}/tracking"
        ),
        brand_name=_env("OASIS_BRAND_NAME", "Oasis Demo Shop"),
        sender_email=_env("OASIS_SENDER_EMAIL", "updates@example.com"),
        templates_dir=Path(
            _env("OASIS_TEMPLATES_DIR", str(Path(__file__).resolve().parent.parent / "templates"))
        ).resolve(),
        default_locale=_env("OASIS_DEFAULT_LOCALE", "en-US"),
        alert_webhook_url=_env("OASIS_ALERT_WEBHOOK_URL", "") or None,
        alert_emails=tuple(
            e.strip() for e in _env("OASIS_ALERT_EMAILS", "").split(",") if e.strip()
        ),
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
