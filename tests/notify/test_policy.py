"""Contact policy and recipient zones: pure rules, no store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notify.config import TargetingSettings, load_targeting_settings
from notify.policy import Recipient, choose_channels, over_cap, recipient_zones, sms_opens_at
from notify.zones import address_zones, country_zones

WINDOW = (8 * 60, 21 * 60)


def _who(**kw) -> Recipient:
    base = dict(customer_id="C1", email="ana@example.com", phone="+13125550101",
                locale="en-US", timezone="America/Chicago", email_opt_in=True, sms_opt_in=True)  # fmt: skip
    base.update(kw)
    return Recipient(**base)


def test_both_channels_with_consent_and_valid_contacts():
    choice = choose_channels(_who())
    assert choice.channels == ("email", "sms") and choice.refused == {}


@pytest.mark.parametrize(
    ("kw", "channel", "why"),
    [
        ({"email_opt_in": False}, "email", "no email consent"),
        ({"email": "ana@@example"}, "email", "no valid email address"),
        ({"email": None}, "email", "no email address"),
        ({"sms_opt_in": False}, "sms", "no SMS consent"),
        ({"phone": None}, "sms", "no phone number"),
        ({"phone": "+1 555"}, "sms", "phone number is not valid"),
        ({"phone": "030 1234567", "locale": "de-DE"}, "sms", "landline: cannot receive SMS"),
    ],
)
def test_each_channel_refused_with_its_reason(kw, channel, why):
    choice = choose_channels(_who(**kw))
    assert channel not in choice.channels
    assert choice.refused[channel] == why


def test_a_national_mobile_number_is_used_in_e164():
    from notify.contacts import sms_number

    who = _who(phone="(312) 555-0101")
    assert "sms" in choose_channels(who).channels
    assert sms_number(who.phone, "US") == "+13125550101"
    german_mobile = _who(phone="0151 23456789", locale="de-DE")
    assert "sms" in choose_channels(german_mobile).channels


def test_zone_from_customer_then_address_then_country():
    assert recipient_zones(_who()) == (("America/Chicago",), "customer")
    by_zip = _who(timezone=None, destination_postal_code="80202", destination_country="US")
    assert recipient_zones(by_zip) == (("America/Denver",), "destination address")
    by_country = _who(timezone=None, destination_country="DE")
    assert recipient_zones(by_country) == (("Europe/Berlin",), "destination address")
    unknown = _who(timezone=None, destination_postal_code=None, destination_country="US")
    zones, source = recipient_zones(unknown)
    assert source == "destination country (every zone)"
    assert {"America/New_York", "Pacific/Honolulu"} <= set(zones)


def test_postal_codes_map_to_their_zones():
    assert address_zones("60601", "US") == ("America/Chicago",)
    assert address_zones("32501", "US") == ("America/Chicago",)  # Pensacola, panhandle
    assert address_zones("33130", "US") == ("America/New_York",)  # Miami
    assert address_zones("79901", "US") == ("America/Denver",)  # El Paso
    assert address_zones("57501", "US") == ("America/Chicago", "America/Denver")  # split state
    assert address_zones("V6B 1A1", "CA") == ("America/Vancouver",)
    assert address_zones("XX", "US") == ()
    assert "Australia/Perth" in country_zones("AU")


def test_sms_at_2105_local_is_held_to_0800_local():
    at = datetime(2026, 11, 20, 3, 5, tzinfo=UTC)  # 21:05 in Chicago
    opens = sms_opens_at(("America/Chicago",), at, WINDOW)
    assert opens == datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # 08:00 Chicago
    assert sms_opens_at(("America/Chicago",), opens, WINDOW) == opens


def test_the_most_restrictive_window_over_several_zones():
    at = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # 08:00 Chicago, 06:00 Los Angeles
    zones = ("America/Chicago", "America/Los_Angeles")
    assert sms_opens_at(zones, at, WINDOW) == datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    assert sms_opens_at((), at, WINDOW) is None
    far_apart = ("Europe/London", "America/Los_Angeles", "Asia/Singapore")  # never all awake
    assert sms_opens_at(far_apart, at, WINDOW) is None


def test_the_window_follows_daylight_saving_time():
    # 2026-03-08: US clocks go forward; 08:00 Chicago is 14:00 UTC before, 13:00 UTC after.
    before = sms_opens_at(("America/Chicago",), datetime(2026, 3, 7, 4, tzinfo=UTC), WINDOW)
    after = sms_opens_at(("America/Chicago",), datetime(2026, 3, 9, 4, tzinfo=UTC), WINDOW)
    assert before == datetime(2026, 3, 7, 14, tzinfo=UTC)
    assert after == datetime(2026, 3, 9, 13, tzinfo=UTC)


def test_frequency_cap_with_bypass_for_critical_changes():
    assert not over_cap(1, 2, critical=False)
    assert over_cap(2, 2, critical=False)
    assert not over_cap(5, 2, critical=True)
    assert not over_cap(9, 0, critical=False)  # 0 = no cap


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("OASIS_SMS_WINDOW", "09:30-20:00")
    monkeypatch.setenv("OASIS_MAX_NOTICES_PER_DAY", "1")
    monkeypatch.setenv("OASIS_ESCALATE_ORDER_VALUE", "")
    monkeypatch.setenv("OASIS_ESCALATE_CAUSES", "lost, damaged")
    s = load_targeting_settings()
    assert s.sms_window == (570, 1200) and s.max_notices_per_day == 1
    assert s.escalate_order_value is None
    assert s.escalate_causes == frozenset({"lost", "damaged"})
    assert load_targeting_settings.__module__ == "notify.config"
    monkeypatch.setenv("OASIS_SMS_WINDOW", "21:00-08:00")
    with pytest.raises(ValueError, match="OASIS_SMS_WINDOW"):
        load_targeting_settings()
    monkeypatch.setenv("OASIS_SMS_WINDOW", "08:00-21:00")
    monkeypatch.setenv("OASIS_ESCALATION_MODE", "sometimes")
    with pytest.raises(ValueError, match="OASIS_ESCALATION_MODE"):
        load_targeting_settings()
    assert TargetingSettings().sms_window == WINDOW
