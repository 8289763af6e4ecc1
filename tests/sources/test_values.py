"""Shop values as contract text: carriers, times, quantities, locales, flags."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from notify.sources.values import as_flag, as_text, bcp47, carrier_code


@pytest.mark.parametrize(
    ("raw", "ours"),
    [
        ("ups", "ups"),
        ("UPS", "ups"),
        ("United Parcel Service", "ups"),
        ("UPS 2nd Day Air", "ups"),
        ("fedex", "fedex"),
        ("Federal Express", "fedex"),
        ("fedex-sameday", "fedex"),
        ("usps", "usps"),
        ("United States Postal Service", "usps"),
        ("dhl", "dhl"),
        ("dhl-us", "dhl"),
        ("DHL Express", "dhl"),
        ("Deutsche Post DHL", "dhl"),
        ("Canada Post", "canadapost"),
        ("canada-post", "canadapost"),
        ("Amazon Logistics", "amazon"),
        ("La Poste", "la_poste"),  # unknown: kept under its own name, never guessed
        ("4PX", "c_4px"),
        ("", ""),
    ],
)
def test_carrier_codes_and_titles_map_to_ours(raw, ours):
    assert carrier_code(raw) == ours


def test_a_mapping_adds_its_own_carrier_aliases():
    assert carrier_code("Royal Mail Tracked 24", {"royal mail tracked 24": "royalmail"}) == (
        "royalmail"
    )
    assert carrier_code("dhl-parcel", {"dhl-parcel": "dhl"}) == "dhl"


def test_times_become_iso_with_offset_naive_ones_in_the_shop_zone():
    assert as_text(datetime(2026, 11, 20, 15, 30)) == "2026-11-20T15:30:00+00:00"
    berlin = ZoneInfo("Europe/Berlin")
    assert as_text(datetime(2026, 11, 20, 15, 30), berlin) == "2026-11-20T14:30:00+00:00"
    chicago = timezone(timedelta(hours=-6))
    assert as_text(datetime(2026, 11, 20, 9, tzinfo=chicago)) == "2026-11-20T15:00:00+00:00"
    assert as_text(datetime(2026, 11, 20, tzinfo=UTC)) == "2026-11-20T00:00:00+00:00"
    assert as_text(date(2026, 11, 20)) == "2026-11-20"


def test_whole_decimal_quantities_lose_their_decimals_others_stay_visible():
    assert as_text(Decimal("2.0000")) == "2"
    assert as_text(Decimal("1.5000")) == "1.5"
    assert as_text(3.0) == "3"
    assert as_text(7) == "7"


def test_other_values():
    assert as_text(None) == ""
    assert as_text(True) == "true"
    assert as_text(b" Zo\xc3\xab ") == "Zoë"
    assert as_text("  Ana ") == "Ana"
    assert bcp47("en_US") == "en-US"
    assert bcp47("de-DE") == "de-DE"
    assert [as_flag(v) for v in ("1", "0", "yes", "No", "")] == [
        "true",
        "false",
        "true",
        "false",
        "",
    ]


def test_times_kept_as_text_without_offset_are_read_in_the_shop_zone():
    from notify.sources.values import as_time_text

    berlin = ZoneInfo("Europe/Berlin")
    assert as_time_text("2026-11-20 15:30:00") == "2026-11-20T15:30:00+00:00"
    assert as_time_text("2026-11-20 15:30:00", berlin) == "2026-11-20T14:30:00+00:00"
    assert as_time_text("2026-11-20T15:30:00-05:00") == "2026-11-20T15:30:00-05:00"
    assert as_time_text("2026-11-20") == "2026-11-20"  # a date stays a date
    assert as_time_text("soon") == "soon"  # validation names it
