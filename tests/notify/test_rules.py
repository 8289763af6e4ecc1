"""The rules file: versioned data, looked up per carrier/service, with clear errors."""

from __future__ import annotations

import pytest

from notify.calendars import CalendarSpec
from notify.rules import DEFAULT_RULES, RULES_FILE, load_rules


def test_the_packaged_rules_load_and_have_a_version():
    rules = load_rules()
    assert rules.version == DEFAULT_RULES.version and rules.version != "builtin"
    assert RULES_FILE.name == "detection_rules.toml"


def test_thresholds_are_looked_up_per_service_then_carrier_then_default():
    rules = DEFAULT_RULES
    assert rules.stall_hours_for("ups", "UPS Next Day Air") == 24
    assert rules.stall_hours_for("dhl", "DHL Express Worldwide") == 72
    assert rules.stall_hours_for("ups", "UPS Ground") == rules.stall_hours
    assert rules.calendar("usps", "Priority Mail") == CalendarSpec("1111110", "federal")
    assert rules.calendar("fedex", "FedEx Home Delivery").weekmask == "0111110"
    assert rules.calendar("fedex", "FedEx Ground") == CalendarSpec("1111100", "major")


def test_settings_override_the_default_stall_and_the_window_width():
    rules = DEFAULT_RULES.with_settings(stall_hours=30, max_window_days=2)
    assert rules.stall_hours_for("ups", "UPS Ground") == 30
    assert rules.stall_hours_for("ups", "UPS Next Day Air") == 24  # a service's own stays
    assert rules.eta.max_window_days == 2


def test_regions_map_states_onto_hub_regions():
    assert DEFAULT_RULES.regions["US-NJ"] == "northeast"
    assert DEFAULT_RULES.regions["US-HI"] == "pacific_southwest"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[stall]\ndefault = 1\n", "version"),
        ('version = "x"\n[stall]\nfedex = 3\n', "default"),
        ('version = "x"\n[eta]\nconfidance = 0.9\n', "unknown keys"),
        ('version = "x"\n[episodes]\nalways_notify_causes = ["gremlins"]\n', "gremlins"),
        ('version = "x"\n[calendars]\ndefault = { weekmask = "11" }\n', "weekmask"),
        ("version = \n", "not valid TOML"),
    ],
)
def test_a_bad_rules_file_names_the_file_and_the_problem(tmp_path, text, message):
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        load_rules(path)
    assert str(path) in str(info.value)


def test_a_missing_rules_file_says_which_setting_points_at_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="OASIS_RULES_FILE"):
        load_rules(tmp_path / "nope.toml")
