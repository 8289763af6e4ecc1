"""The time zones a recipient may be in, from what we know about them.

Quiet hours are kept in the recipient's own zone. We know it from the customer's record;
else from the destination address (a US ZIP code's first three digits name its state, a
Canadian postal code's first letter its province, most other countries have one zone);
else from the country alone, or the customer's locale region. Where a place spans several
zones (a state split between two, a country without a postal code) every zone it spans is
returned, so the caller can keep to the window that is quiet in all of them.
"""

from __future__ import annotations

from functools import lru_cache

from babel.core import get_global

from carriers.timezones import CA_PROVINCE_ZONES, COUNTRY_ZONES, US_STATE_ZONES

# fmt: off
# First three digits of a US ZIP code -> state (USPS prefix allocation), as inclusive ranges.
_ZIP3_STATES: tuple[tuple[int, int, str], ...] = (
    (5, 5, "NY"), (6, 7, "PR"), (8, 8, "VI"), (9, 9, "PR"), (10, 27, "MA"), (28, 29, "RI"),
    (30, 38, "NH"), (39, 49, "ME"), (50, 54, "VT"), (55, 55, "MA"), (56, 59, "VT"),
    (60, 69, "CT"), (70, 89, "NJ"), (100, 149, "NY"), (150, 196, "PA"), (197, 199, "DE"),
    (200, 200, "DC"), (201, 201, "VA"), (202, 205, "DC"), (206, 219, "MD"), (220, 246, "VA"),
    (247, 268, "WV"), (270, 289, "NC"), (290, 299, "SC"), (300, 319, "GA"), (320, 339, "FL"),
    (341, 349, "FL"), (350, 369, "AL"), (370, 385, "TN"), (386, 397, "MS"), (398, 399, "GA"),
    (400, 427, "KY"), (430, 459, "OH"), (460, 479, "IN"), (480, 499, "MI"), (500, 528, "IA"),
    (530, 549, "WI"), (550, 567, "MN"), (569, 569, "DC"), (570, 577, "SD"), (580, 588, "ND"),
    (590, 599, "MT"), (600, 629, "IL"), (630, 658, "MO"), (660, 679, "KS"), (680, 693, "NE"),
    (700, 715, "LA"), (716, 729, "AR"), (730, 732, "OK"), (733, 733, "TX"), (734, 749, "OK"),
    (750, 799, "TX"), (800, 816, "CO"), (820, 831, "WY"), (832, 838, "ID"), (840, 847, "UT"),
    (850, 865, "AZ"), (870, 884, "NM"), (885, 885, "TX"), (889, 898, "NV"), (900, 961, "CA"),
    (967, 968, "HI"), (969, 969, "GU"), (970, 979, "OR"), (980, 994, "WA"), (995, 999, "AK"),
)

# States split between zones: every zone they span (the state's main zone is in
# US_STATE_ZONES). ZIP prefixes that lie wholly in the other zone are listed in _ZIP3_ZONES.
_SPLIT_STATES: dict[str, tuple[str, ...]] = {
    "FL": ("America/New_York", "America/Chicago"),
    "TN": ("America/Chicago", "America/New_York"),
    "KY": ("America/New_York", "America/Chicago"),
    "IN": ("America/Indiana/Indianapolis", "America/Chicago"),
    "MI": ("America/Detroit", "America/Menominee"),
    "ND": ("America/Chicago", "America/Denver"),
    "SD": ("America/Chicago", "America/Denver"),
    "NE": ("America/Chicago", "America/Denver"),
    "KS": ("America/Chicago", "America/Denver"),
    "TX": ("America/Chicago", "America/Denver"),
    "ID": ("America/Boise", "America/Los_Angeles"),
    "OR": ("America/Los_Angeles", "America/Boise"),
}
_ZIP3_ZONES: dict[int, tuple[str, ...]] = {
    324: ("America/Chicago",), 325: ("America/Chicago",),  # Florida panhandle
    320: ("America/New_York",), 321: ("America/New_York",), 322: ("America/New_York",),
    323: ("America/New_York",), 326: ("America/New_York",), 327: ("America/New_York",),
    328: ("America/New_York",), 329: ("America/New_York",), 330: ("America/New_York",),
    331: ("America/New_York",), 332: ("America/New_York",), 333: ("America/New_York",),
    334: ("America/New_York",), 335: ("America/New_York",), 336: ("America/New_York",),
    337: ("America/New_York",), 338: ("America/New_York",), 339: ("America/New_York",),
    341: ("America/New_York",), 342: ("America/New_York",), 344: ("America/New_York",),
    346: ("America/New_York",), 347: ("America/New_York",), 349: ("America/New_York",),
    370: ("America/Chicago",), 371: ("America/Chicago",), 372: ("America/Chicago",),
    373: ("America/New_York",), 374: ("America/New_York",), 375: ("America/Chicago",),
    376: ("America/New_York",), 377: ("America/New_York",),
    378: ("America/New_York",), 379: ("America/New_York",), 380: ("America/Chicago",),
    381: ("America/Chicago",), 382: ("America/Chicago",), 383: ("America/Chicago",),
    384: ("America/Chicago",), 385: ("America/Chicago",),
    798: ("America/Denver",), 799: ("America/Denver",), 885: ("America/Denver",),  # El Paso
    835: ("America/Los_Angeles",), 838: ("America/Los_Angeles",),  # north Idaho
    832: ("America/Boise",), 833: ("America/Boise",), 834: ("America/Boise",),
    836: ("America/Boise",), 837: ("America/Boise",),
    865: ("America/Phoenix", "America/Denver"),  # Navajo Nation keeps daylight time
}
# First letter of a Canadian postal code -> province or territory.
_CA_LETTERS: dict[str, str] = {
    "A": "NL", "B": "NS", "C": "PE", "E": "NB", "G": "QC", "H": "QC", "J": "QC", "K": "ON",
    "L": "ON", "M": "ON", "N": "ON", "P": "ON", "R": "MB", "S": "SK", "T": "AB", "V": "BC",
    "X": "NT", "Y": "YT",
}
_US_STATES = frozenset(US_STATE_ZONES) - {"PR", "VI", "GU", "AS", "MP"}
# fmt: on


def _us_state(postal_code: str) -> str | None:
    digits = postal_code.strip()[:5]
    if len(digits) < 3 or not digits[:3].isdigit():
        return None
    prefix = int(digits[:3])
    for low, high, state in _ZIP3_STATES:
        if low <= prefix <= high:
            return state
    return None


def _us_zones(postal_code: str) -> tuple[str, ...]:
    state = _us_state(postal_code)
    if state is None:
        return ()
    prefix = int(postal_code.strip()[:3])
    if prefix in _ZIP3_ZONES:
        return _ZIP3_ZONES[prefix]
    return _SPLIT_STATES.get(state, (US_STATE_ZONES[state],))


@lru_cache(maxsize=512)
def country_zones(country: str | None) -> tuple[str, ...]:
    """Every zone a country spans (the 50 states and DC for the US), sorted."""
    code = (country or "").strip().upper()
    if code in ("US", "USA"):
        zones = {US_STATE_ZONES[s] for s in _US_STATES}
        zones.update(z for s in _SPLIT_STATES.values() for z in s)
        return tuple(sorted(zones))
    if code in ("CA", "CAN"):
        return tuple(sorted(set(CA_PROVINCE_ZONES.values())))
    if code in COUNTRY_ZONES:
        return (COUNTRY_ZONES[code],)
    territory = get_global("territory_zones")
    return tuple(sorted(territory.get(code, ())))


@lru_cache(maxsize=65536)
def address_zones(postal_code: str | None, country: str | None) -> tuple[str, ...]:
    """The zones of a destination address; () when the address does not tell."""
    code = (country or "").strip().upper()
    postal = (postal_code or "").strip().upper()
    if code in ("US", "USA", "") and postal:
        return _us_zones(postal)
    if code in ("CA", "CAN") and postal[:1] in _CA_LETTERS:
        return (CA_PROVINCE_ZONES[_CA_LETTERS[postal[:1]]],)
    if code in COUNTRY_ZONES:
        return (COUNTRY_ZONES[code],)
    return ()
