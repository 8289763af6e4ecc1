"""The one HTTP session every carrier client uses: timeouts, retries, OAuth, rate limit.

A :class:`CarrierSession` wraps one pooled ``requests.Session`` for one carrier and adds:

* timeouts: ``settings.timeout_seconds`` for connect and for read;
* retries on 429, 500, 502, 503, 504, timeouts and connection errors (including a
  connection dropped mid-body), at most
  ``settings.max_retries`` times, with exponential backoff and full jitter (base 0.5 s, cap
  30 s) that never waits less than the server asked for (``Retry-After`` in seconds or as an
  HTTP date, or ``X-RateLimit-Reset``); when they run out, :class:`CarrierUnavailable`;
* authentication: OAuth2 client credentials (token cached process-wide until 60 s before it
  expires, refreshed once on a 401), an API key header, or the API key as Basic user name;
  401/403 that a refresh does not cure raise :class:`CarrierAuthError` so the run stops;
* a token bucket holding requests to ``settings.requests_per_second``.

Responses with 2xx and with 4xx other than 401/403/429 are returned: carriers answer
"not found" with 400/404 bodies that the parsers read. Log lines carry method, path,
status, attempt and elapsed time, never credentials, tokens or query strings.
"""

from __future__ import annotations

import base64
import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.exceptions import ChunkedEncodingError

from carriers.registry import ClientSettings

log = logging.getLogger("carriers.http")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
AUTH_STATUSES = frozenset({401, 403})
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0
# A server asking us to wait longer than this in one go is treated as unavailable: the
# task fails fast and the scheduler retries it later instead of a worker sleeping for hours.
MAX_SERVER_WAIT_SECONDS = 600.0
TOKEN_EXPIRY_MARGIN_SECONDS = 60.0
DEFAULT_TOKEN_LIFETIME_SECONDS = 300.0  # when a token response gives no expires_in
# X-RateLimit-Reset values above this are epoch seconds; smaller ones are seconds to wait.
_EPOCH_THRESHOLD = 1_000_000_000
_USER_AGENT = "oasis-carriers/0.1"


class CarrierHTTPError(Exception):
    """A carrier request failed in a way the caller cannot read as tracking data."""

    def __init__(self, carrier: str, status: int | None, detail: str) -> None:
        self.carrier = carrier
        self.status = status
        self.detail = detail
        shown = "no response" if status is None else f"HTTP {status}"
        super().__init__(f"{carrier}: {shown}: {detail}")


class CarrierAuthError(CarrierHTTPError):
    """Credentials rejected (401/403 even after one token refresh): stop the run."""


class CarrierUnavailable(CarrierHTTPError):
    """Retries exhausted on 429, 5xx, timeouts or connection errors."""


@dataclass(frozen=True)
class OAuth2ClientCredentials:
    """OAuth2 client-credentials grant against ``token_path`` (relative to base_url)."""

    token_path: str
    extra_form: Mapping[str, str] = field(default_factory=dict)
    basic_auth: bool = False  # client id/secret as HTTP Basic instead of form fields
    json_body: bool = False  # send the token request as JSON instead of a form


@dataclass(frozen=True)
class ApiKeyHeader:
    """``settings.api_key`` sent as the value of ``header``."""

    header: str


@dataclass(frozen=True)
class BasicApiKey:
    """``settings.api_key`` sent as the HTTP Basic user name with an empty password."""


Auth = OAuth2ClientCredentials | ApiKeyHeader | BasicApiKey


class TokenBucket:
    """Thread-safe token bucket: ``rate`` requests per second, bursts of ``capacity``.

    A caller reserves its token under the lock (the count may go negative) and sleeps
    outside it, so concurrent callers queue up evenly spaced.
    """

    def __init__(
        self,
        rate: float,
        *,
        capacity: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._rate = rate
        self._capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = capacity
        self._updated = clock()

    def acquire(self) -> float:
        """Take one token, sleeping until it is available; returns the seconds waited."""
        if self._rate <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
            self._updated = now
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self._rate
        if wait > 0:
            self._sleep(wait)
        return wait


@dataclass
class _CachedToken:
    value: str
    expires_at: float  # on the monotonic clock of the session that fetched it


class _TokenCache:
    """Process-wide OAuth tokens keyed by (carrier, base_url, client_id).

    One lock per key makes concurrent sessions wait for a single fetch instead of each
    asking the token endpoint.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str, str], _CachedToken] = {}
        self._key_locks: dict[tuple[str, str, str], threading.Lock] = {}

    def key_lock(self, key: tuple[str, str, str]) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def get(self, key: tuple[str, str, str], now: float) -> str | None:
        with self._lock:
            cached = self._tokens.get(key)
        if cached is None or cached.expires_at <= now:
            return None
        return cached.value

    def put(self, key: tuple[str, str, str], value: str, expires_at: float) -> None:
        with self._lock:
            self._tokens[key] = _CachedToken(value, expires_at)

    def drop(self, key: tuple[str, str, str], value: str) -> None:
        """Forget ``value`` unless another thread has already replaced it."""
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and cached.value == value:
                del self._tokens[key]

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


TOKEN_CACHE = _TokenCache()


def join_url(base_url: str, path: str) -> str:
    """``path`` appended to ``base_url``, keeping any path prefix the base URL has."""
    if not path:
        return base_url
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def _safe_detail(response: requests.Response, secrets: tuple[str | None, ...]) -> str:
    """A short description of an error body with any secret removed."""
    text = response.text[:300].strip().replace("\n", " ")
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text or response.reason or "empty body"


class CarrierSession:
    """HTTP access to one carrier's API with the behaviour described in the module doc."""

    def __init__(
        self,
        carrier: str,
        settings: ClientSettings,
        *,
        auth: Auth | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.carrier = carrier
        self.settings = settings
        self.auth = auth
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._rng = rng or random.Random()  # jitter, not security
        self._bucket = TokenBucket(settings.requests_per_second, clock=clock, sleep=sleep)
        self._http = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16)
        self._http.mount("http://", adapter)
        self._http.mount("https://", adapter)
        self._http.headers["User-Agent"] = _USER_AGENT
        self._timeout = (settings.timeout_seconds, settings.timeout_seconds)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CarrierSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- public -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send one API request; see the module doc for what is retried and raised."""
        url = join_url(self.settings.base_url, path)
        sent_token, auth_headers = self._auth_headers()
        call_headers = {**(headers or {}), **auth_headers}
        kwargs: dict[str, Any] = {"params": params, "json": json, "data": data}
        response = self._call(method, url, path, call_headers, kwargs)
        if response.status_code == 401 and sent_token is not None:
            TOKEN_CACHE.drop(self._token_key(), sent_token)
            _, auth_headers = self._auth_headers()
            call_headers.update(auth_headers)
            response = self._call(method, url, path, call_headers, kwargs)
        status = response.status_code
        if status in AUTH_STATUSES:
            raise CarrierAuthError(self.carrier, status, self._auth_failure(response))
        if 200 <= status < 300 or 400 <= status < 500:
            return response
        raise CarrierHTTPError(self.carrier, status, _safe_detail(response, self._secrets()))

    # -- transport with retries -------------------------------------------------------

    def _call(
        self,
        method: str,
        url: str,
        log_path: str,
        headers: Mapping[str, str],
        kwargs: Mapping[str, Any],
    ) -> requests.Response:
        """The first response whose status is not retryable; CarrierUnavailable if none."""
        attempts = max(0, self.settings.max_retries) + 1
        for attempt in range(1, attempts + 1):
            self._bucket.acquire()
            response, failure = self._send_once(method, url, log_path, attempt, headers, kwargs)
            if response is not None and response.status_code not in RETRY_STATUSES:
                return response
            if attempt == attempts:
                break
            self._wait_before_retry(attempt, response)
        status = response.status_code if response is not None else None
        raise CarrierUnavailable(
            self.carrier,
            status,
            f"{method} {log_path} failed after {attempts} attempts"
            f" (last: {failure or f'HTTP {status}'})",
        )

    def _send_once(
        self,
        method: str,
        url: str,
        log_path: str,
        attempt: int,
        headers: Mapping[str, str],
        kwargs: Mapping[str, Any],
    ) -> tuple[requests.Response | None, str | None]:
        started = self._clock()
        try:
            response = self._http.request(
                method, url, headers=dict(headers), timeout=self._timeout, **kwargs
            )
        except (requests.Timeout, requests.ConnectionError, ChunkedEncodingError) as exc:
            kind = "timeout" if isinstance(exc, requests.Timeout) else "connection error"
            log.warning(
                "%s %s %s: %s attempt=%d elapsed=%.3fs",
                self.carrier,
                method,
                log_path,
                kind,
                attempt,
                self._clock() - started,
            )
            return None, kind
        log.info(
            "%s %s %s -> %d attempt=%d elapsed=%.3fs",
            self.carrier,
            method,
            log_path,
            response.status_code,
            attempt,
            self._clock() - started,
        )
        return response, None

    def _wait_before_retry(self, attempt: int, response: requests.Response | None) -> None:
        backoff = self._rng.uniform(
            0.0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        )
        asked = self._server_wait(response) if response is not None else None
        if asked is not None and asked > MAX_SERVER_WAIT_SECONDS:
            raise CarrierUnavailable(
                self.carrier,
                response.status_code if response is not None else None,
                f"server asks to wait {asked:.0f} s before retrying, longer than the "
                f"{MAX_SERVER_WAIT_SECONDS:.0f} s this session waits; try again later",
            )
        self._sleep(max(backoff, asked or 0.0))

    def _server_wait(self, response: requests.Response) -> float | None:
        """Seconds the server asked us to wait (Retry-After or X-RateLimit-Reset), if any."""
        retry_after = response.headers.get("Retry-After")
        if retry_after:
            seconds = _parse_retry_after(retry_after, self._wall_clock())
            if seconds is not None:
                return seconds
        reset = response.headers.get("X-RateLimit-Reset")
        if reset:
            try:
                value = float(reset)
            except ValueError:
                return None
            seconds = value - self._wall_clock() if value > _EPOCH_THRESHOLD else value
            return max(0.0, seconds)
        return None

    # -- authentication -----------------------------------------------------------------

    def _auth_headers(self) -> tuple[str | None, dict[str, str]]:
        """(OAuth token used or None, headers to send)."""
        auth = self.auth
        if isinstance(auth, OAuth2ClientCredentials):
            token = self._token(auth)
            return token, {"Authorization": f"Bearer {token}"}
        if isinstance(auth, ApiKeyHeader):
            return None, {auth.header: self._require("api_key", self.settings.api_key)}
        if isinstance(auth, BasicApiKey):
            key = self._require("api_key", self.settings.api_key)
            return None, {"Authorization": _basic(key, "")}
        return None, {}

    def _token_key(self) -> tuple[str, str, str]:
        return (self.carrier, self.settings.base_url, self.settings.client_id or "")

    def _token(self, auth: OAuth2ClientCredentials) -> str:
        key = self._token_key()
        token = TOKEN_CACHE.get(key, self._clock())
        if token is not None:
            return token
        with TOKEN_CACHE.key_lock(key):
            token = TOKEN_CACHE.get(key, self._clock())
            if token is None:
                token, lifetime = self._fetch_token(auth)
                expires_at = self._clock() + lifetime - TOKEN_EXPIRY_MARGIN_SECONDS
                TOKEN_CACHE.put(key, token, expires_at)
            return token

    def _fetch_token(self, auth: OAuth2ClientCredentials) -> tuple[str, float]:
        client_id = self._require("client_id", self.settings.client_id)
        secret = self._require("client_secret", self.settings.client_secret)
        fields = {"grant_type": "client_credentials", **auth.extra_form}
        headers = {"Accept": "application/json"}
        if auth.basic_auth:
            headers["Authorization"] = _basic(client_id, secret)
        else:
            fields.update(client_id=client_id, client_secret=secret)
        kwargs: dict[str, Any] = {"json": fields} if auth.json_body else {"data": fields}
        url = join_url(self.settings.base_url, auth.token_path)
        response = self._call("POST", url, auth.token_path, headers, kwargs)
        if not 200 <= response.status_code < 300:
            raise CarrierAuthError(
                self.carrier,
                response.status_code,
                f"token endpoint {auth.token_path} refused the client credentials: "
                f"{_safe_detail(response, self._secrets())}",
            )
        return self._read_token(response, auth.token_path)

    def _read_token(self, response: requests.Response, token_path: str) -> tuple[str, float]:
        try:
            body = response.json()
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise CarrierAuthError(
                self.carrier,
                response.status_code,
                f"token endpoint {token_path} answered without an access_token; "
                "check the token URL and that the credentials are for this API",
            )
        try:
            lifetime = float(body.get("expires_in", DEFAULT_TOKEN_LIFETIME_SECONDS))
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_LIFETIME_SECONDS
        return token, lifetime

    def _auth_failure(self, response: requests.Response) -> str:
        detail = _safe_detail(response, self._secrets())
        if self.auth is None:
            return f"credentials rejected: {detail}"
        kind = type(self.auth).__name__
        return f"credentials rejected ({kind}); check the configured credentials: {detail}"

    def _secrets(self) -> tuple[str | None, ...]:
        return (self.settings.client_secret, self.settings.api_key)

    def _require(self, name: str, value: str | None) -> str:
        if not value:
            raise CarrierAuthError(
                self.carrier, None, f"no {name} configured for carrier {self.carrier}"
            )
        return value


def _basic(user: str, password: str) -> str:
    pair = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _parse_retry_after(value: str, now: float) -> float | None:
    """Retry-After as seconds from now: delta seconds or an HTTP date."""
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)
