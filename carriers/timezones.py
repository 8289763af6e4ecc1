"""Resolve carrier local times that come without an offset.

Several carriers (USPS, legacy UPS XML, DHL eCommerce) send a scan's wall-clock time at the
scan location and no offset. We never label such a time as UTC: we find the zone of the
location (US state or Canadian province, else a single-zone country) and attach it with
``zoneinfo``. DST gaps and folds are resolved deterministically: ``fold=0`` (the earlier
instant of a repeated hour; a time inside a gap is read with the offset before the gap).
Where no zone can be found the caller records a ``time_without_zone`` problem.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from carriers.models import Location

# fmt: off
# Dominant zone per US state / territory (states split between zones use the zone where
# most of their population lives).
US_STATE_ZONES: dict[str, str] = {
    "AL": "America/Chicago", "AK": "America/Anchorage", "AZ": "America/Phoenix",
    "AR": "America/Chicago", "CA": "America/Los_Angeles", "CO": "America/Denver",
    "CT": "America/New_York", "DE": "America/New_York", "DC": "America/New_York",
    "FL": "America/New_York", "GA": "America/New_York", "HI": "Pacific/Honolulu",
    "ID": "America/Boise", "IL": "America/Chicago", "IN": "America/Indiana/Indianapolis",
    "IA": "America/Chicago", "KS": "America/Chicago", "KY": "America/New_York",
    "LA": "America/Chicago", "ME": "America/New_York", "MD": "America/New_York",
    "MA": "America/New_York", "MI": "America/Detroit", "MN": "America/Chicago",
    "MS": "America/Chicago", "MO": "America/Chicago", "MT": "America/Denver",
    "NE": "America/Chicago", "NV": "America/Los_Angeles", "NH": "America/New_York",
    "NJ": "America/New_York", "NM": "America/Denver", "NY": "America/New_York",
    "NC": "America/New_York", "ND": "America/Chicago", "OH": "America/New_York",
    "OK": "America/Chicago", "OR": "America/Los_Angeles", "PA": "America/New_York",
    "RI": "America/New_York", "SC": "America/New_York", "SD": "America/Chicago",
    "TN": "America/Chicago", "TX": "America/Chicago", "UT": "America/Denver",
    "VT": "America/New_York", "VA": "America/New_York", "WA": "America/Los_Angeles",
    "WV": "America/New_York", "WI": "America/Chicago", "WY": "America/Denver",
    "PR": "America/Puerto_Rico", "VI": "America/St_Thomas", "GU": "Pacific/Guam",
    "AS": "Pacific/Pago_Pago", "MP": "Pacific/Saipan",
}

CA_PROVINCE_ZONES: dict[str, str] = {
    "AB": "America/Edmonton", "BC": "America/Vancouver", "MB": "America/Winnipeg",
    "NB": "America/Moncton", "NL": "America/St_Johns", "NS": "America/Halifax",
    "NT": "America/Yellowknife", "NU": "America/Iqaluit", "ON": "America/Toronto",
    "PE": "America/Halifax", "QC": "America/Toronto", "SK": "America/Regina",
    "YT": "America/Whitehorse",
}

# Countries with a single zone (ISO 3166 alpha-2).
COUNTRY_ZONES: dict[str, str] = {
    "DE": "Europe/Berlin", "GB": "Europe/London", "UK": "Europe/London",
    "FR": "Europe/Paris", "NL": "Europe/Amsterdam", "BE": "Europe/Brussels",
    "IT": "Europe/Rome", "ES": "Europe/Madrid", "AT": "Europe/Vienna",
    "CH": "Europe/Zurich", "PL": "Europe/Warsaw", "CZ": "Europe/Prague",
    "DK": "Europe/Copenhagen", "SE": "Europe/Stockholm", "NO": "Europe/Oslo",
    "FI": "Europe/Helsinki", "IE": "Europe/Dublin", "PT": "Europe/Lisbon",
    "GR": "Europe/Athens", "HU": "Europe/Budapest", "SK": "Europe/Bratislava",
    "LU": "Europe/Luxembourg", "JP": "Asia/Tokyo", "KR": "Asia/Seoul",
    "CN": "Asia/Shanghai", "HK": "Asia/Hong_Kong", "SG": "Asia/Singapore",
    "IN": "Asia/Kolkata", "AE": "Asia/Dubai", "IL": "Asia/Jerusalem",
    "NZ": "Pacific/Auckland", "ZA": "Africa/Johannesburg", "TW": "Asia/Taipei",
    "PH": "Asia/Manila", "TH": "Asia/Bangkok", "VN": "Asia/Ho_Chi_Minh",
    "MY": "Asia/Kuala_Lumpur", "TR": "Europe/Istanbul", "PR": "America/Puerto_Rico",
    "JM": "America/Jamaica", "DO": "America/Santo_Domingo", "BS": "America/Nassau",
    "BB": "America/Barbados", "TT": "America/Port_of_Spain", "CR": "America/Costa_Rica",
    "PA": "America/Panama", "GT": "America/Guatemala", "CO": "America/Bogota",
    "PE": "America/Lima", "AR": "America/Argentina/Buenos_Aires", "UY": "America/Montevideo",
    "EG": "Africa/Cairo", "KE": "Africa/Nairobi", "NG": "Africa/Lagos",
    "MA": "Africa/Casablanca", "SA": "Asia/Riyadh", "QA": "Asia/Qatar", "KW": "Asia/Kuwait",
    "PK": "Asia/Karachi", "BD": "Asia/Dhaka", "LK": "Asia/Colombo", "IS": "Atlantic/Reykjavik",
    "EE": "Europe/Tallinn", "LV": "Europe/Riga", "LT": "Europe/Vilnius",
    "RO": "Europe/Bucharest", "BG": "Europe/Sofia", "HR": "Europe/Zagreb",
    "SI": "Europe/Ljubljana", "RS": "Europe/Belgrade", "UA": "Europe/Kyiv",
}


# fmt: on


def zone_for(location: Location | None) -> ZoneInfo | None:
    """The IANA zone of a scan location, or None when it cannot be told."""
    if location is None:
        return None
    country = (location.country or "").strip().upper()
    region = (location.region or "").strip().upper()
    if country in ("", "US", "USA") and region in US_STATE_ZONES:
        return ZoneInfo(US_STATE_ZONES[region])
    if country in ("CA", "CAN") and region in CA_PROVINCE_ZONES:
        return ZoneInfo(CA_PROVINCE_ZONES[region])
    if country in COUNTRY_ZONES:
        return ZoneInfo(COUNTRY_ZONES[country])
    return None


def localize(naive: datetime, location: Location | None) -> datetime | None:
    """Attach the location's zone to a wall-clock time; None if the zone is unknown."""
    if naive.tzinfo is not None:
        return naive
    zone = zone_for(location)
    if zone is None:
        return None
    return naive.replace(tzinfo=zone, fold=0)
