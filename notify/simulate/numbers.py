"""Tracking numbers in each carrier's real format, with valid check digits, never repeated.

- FedEx: 12 digits; the last is the check digit (weights 1, 3, 7 from the right, sum mod 11
  mod 10).
- UPS: ``1Z`` + 6-character shipper account + 2-digit service code + 7-digit package number
  + check digit (letters count as (ord - 63) mod 10, odd positions doubled, mod 10).
- USPS: 22 digits (IMpb): application id 92/94 + service type code (9400 1 Ground
  Advantage, 9205 5 Priority Mail, 9270 1 Priority Mail Express) + 9-digit mailer id +
  7-digit serial + mod-10 check digit (weights 3, 1 from the right).
- DHL Express: 10 digits; the last is the first nine mod 7.

A parcel's global serial goes through a seeded bijection of the number space (multiply by a
unit, add an offset), so numbers look random yet never collide for up to ``MAX_PARCELS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from notify.simulate.catalog import SERVICES

Arr = NDArray[Any]
MAX_PARCELS = 10_000_000
_ALNUM = "ABCDEFGHJKLMNPRSTVWXY0123456789"


@dataclass(frozen=True)
class NumberKeys:
    """Seeded parameters of the numbering: bijection keys and shipper ids per warehouse."""

    multipliers: tuple[int, int, int]  # for 10, 7 and 9 digit spaces
    offsets: tuple[int, int, int]
    ups_accounts: tuple[str, ...]
    usps_mailers: tuple[str, ...]

    @classmethod
    def draw(cls, rng: np.random.Generator, warehouses: int) -> NumberKeys:
        def unit(digits: int) -> int:
            while True:
                value = int(rng.integers(10 ** (digits - 1), 10**digits)) | 1
                if value % 5:
                    return value

        accounts = tuple(
            "".join(_ALNUM[int(i)] for i in rng.integers(0, len(_ALNUM), 6))
            for _ in range(warehouses)
        )
        mailers = tuple(f"9{int(rng.integers(0, 10**8)):08d}" for _ in range(warehouses))
        return cls(
            multipliers=(unit(10), unit(7), unit(9)),
            offsets=(
                int(rng.integers(0, 10**10)),
                int(rng.integers(0, 10**7)),
                int(rng.integers(0, 10**9)),
            ),
            ups_accounts=accounts,
            usps_mailers=mailers,
        )


def _mix(serial: Arr, modulus: int, multiplier: int, offset: int) -> Arr:
    return (serial.astype(np.int64) * (multiplier % modulus) + offset) % modulus


def _digits(values: Arr, width: int) -> Arr:
    """Digit matrix (most significant first) of non-negative integers."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers[None, :]) % 10


def _zfill(values: Arr, width: int) -> Arr:
    return np.strings.zfill(values.astype(str), width)


def fedex(serial: Arr, keys: NumberKeys) -> Arr:
    body = 7 * 10**10 + _mix(serial, 10**10, keys.multipliers[0], keys.offsets[0])
    weights = np.resize(np.array([1, 3, 7]), 11)[::-1]
    check = (_digits(body, 11) * weights).sum(axis=1) % 11 % 10
    return np.strings.add(body.astype(str), check.astype(str))


def _char_value(char: str) -> int:
    return int(char) if char.isdigit() else (ord(char) - 63) % 10


def ups(serial: Arr, service_code: str, account: str, keys: NumberKeys) -> Arr:
    package = _mix(serial, 10**7, keys.multipliers[1], keys.offsets[1])
    head = account + service_code
    head_sum = sum(_char_value(c) * (2 if i % 2 else 1) for i, c in enumerate(head))
    weights = np.array([2 if (len(head) + i) % 2 else 1 for i in range(7)])
    total = head_sum + (_digits(package, 7) * weights).sum(axis=1)
    check = (10 - total % 10) % 10
    text = np.strings.add("1Z" + head, _zfill(package, 7))
    return np.strings.add(text, check.astype(str))


def usps(serial: Arr, service_code: str, mailer: str, keys: NumberKeys) -> Arr:
    application = "94" if service_code == "001" else "92"
    head = application + service_code + mailer
    package = _mix(serial, 10**7, keys.multipliers[1], keys.offsets[1])
    body = np.strings.add(head, _zfill(package, 7))
    head_digits = np.array([int(c) for c in head])
    digits = np.concatenate(
        [np.broadcast_to(head_digits, (len(package), len(head))), _digits(package, 7)], axis=1
    )
    weights = np.resize(np.array([3, 1]), digits.shape[1])[::-1]
    check = (10 - (digits * weights).sum(axis=1) % 10) % 10
    return np.strings.add(body, check.astype(str))


def dhl(serial: Arr, keys: NumberKeys) -> Arr:
    body = _mix(serial, 10**9, keys.multipliers[2], keys.offsets[2])
    return np.strings.add(_zfill(body, 9), (body % 7).astype(str))


def tracking_numbers(serial: Arr, service: Arr, warehouse: Arr, keys: NumberKeys) -> Arr:
    """One number per parcel from its global serial, service and warehouse."""
    if len(serial) and int(serial.max()) >= MAX_PARCELS:
        raise ValueError(f"the numbering supports at most {MAX_PARCELS} parcels per world")
    out = np.empty(len(serial), dtype=object)
    for s, spec in enumerate(SERVICES):
        for w in range(len(keys.ups_accounts)):
            pick = (service == s) & (warehouse == w)
            if not pick.any():
                continue
            out[pick] = _numbers(spec.carrier, spec.code, w, serial[pick], keys)
    return out


def _numbers(carrier: str, code: str, warehouse: int, serial: Arr, keys: NumberKeys) -> Arr:
    if carrier == "fedex":
        return fedex(serial, keys)
    if carrier == "ups":
        return ups(serial, code, keys.ups_accounts[warehouse], keys)
    if carrier == "usps":
        return usps(serial, code, keys.usps_mailers[warehouse], keys)
    return dhl(serial, keys)
