"""Where a DHL scan happened, read from the ways DHL writes places.

DHL gives countries as ISO codes ("DE"), English names ("Germany", Parcel DE events), ISO
alpha-3 codes ("JAM", Express service areas) or names inside a free-text locality
("Barcelona - Spain ", "SPRINGFIELD GARDENS,NY-USA", "LEIPZIG - GERMANY"). This module turns
them into a :class:`carriers.models.Location` with an ISO alpha-2 country, so that
``carriers.timezones`` can find the zone of a local time. Unknown names stay unknown: the
country is then left empty rather than guessed.
"""

from __future__ import annotations

from carriers.models import Location

# English name or alpha-3 code -> ISO 3166 alpha-2, for the countries DHL samples and the
# zone table know. Keys are upper case.
COUNTRY_CODES: dict[str, str] = {
    "GERMANY": "DE", "DEUTSCHLAND": "DE", "DEU": "DE",
    "UNITED KINGDOM": "GB", "GREAT BRITAIN": "GB", "GBR": "GB",
    "FRANCE": "FR", "FRA": "FR", "NETHERLANDS": "NL", "THE NETHERLANDS": "NL", "NLD": "NL",
    "BELGIUM": "BE", "BEL": "BE", "ITALY": "IT", "ITA": "IT", "SPAIN": "ES", "ESP": "ES",
    "AUSTRIA": "AT", "AUT": "AT", "SWITZERLAND": "CH", "CHE": "CH", "POLAND": "PL",
    "POL": "PL", "CZECH REPUBLIC": "CZ", "CZECHIA": "CZ", "CZE": "CZ", "DENMARK": "DK",
    "DNK": "DK", "SWEDEN": "SE", "SWE": "SE", "NORWAY": "NO", "NOR": "NO", "FINLAND": "FI",
    "FIN": "FI", "IRELAND": "IE", "IRL": "IE", "PORTUGAL": "PT", "PRT": "PT",
    "GREECE": "GR", "GRC": "GR", "HUNGARY": "HU", "HUN": "HU", "SLOVAKIA": "SK",
    "SVK": "SK", "LUXEMBOURG": "LU", "LUX": "LU", "JAPAN": "JP", "JPN": "JP",
    "KOREA, REPUBLIC OF": "KR", "SOUTH KOREA": "KR", "KOR": "KR", "CHINA": "CN",
    "CHN": "CN", "HONG KONG": "HK", "HKG": "HK", "SINGAPORE": "SG", "SGP": "SG",
    "INDIA": "IN", "IND": "IN", "UNITED ARAB EMIRATES": "AE", "ARE": "AE", "ISRAEL": "IL",
    "ISR": "IL", "NEW ZEALAND": "NZ", "NZL": "NZ", "SOUTH AFRICA": "ZA", "ZAF": "ZA",
    "TAIWAN": "TW", "TWN": "TW", "PHILIPPINES": "PH", "PHL": "PH", "THAILAND": "TH",
    "THA": "TH", "VIETNAM": "VN", "VIET NAM": "VN", "VNM": "VN", "MALAYSIA": "MY",
    "MYS": "MY", "TURKEY": "TR", "TURKIYE": "TR", "TUR": "TR", "PUERTO RICO": "PR",
    "PRI": "PR", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US", "USA": "US",
    "CANADA": "CA", "CAN": "CA", "MEXICO": "MX", "MEX": "MX", "BRAZIL": "BR", "BRA": "BR",
    "AUSTRALIA": "AU", "AUS": "AU", "JAMAICA": "JM", "JAM": "JM",
}  # fmt: skip


def country_code(value: str | None) -> str | None:
    """ISO alpha-2 code for an ISO code, alpha-3 code or English country name; else None."""
    text = " ".join((value or "").split()).upper()
    if not text:
        return None
    if len(text) == 2 and text.isalpha():
        return text
    return COUNTRY_CODES.get(text)


def _split_region(place: str) -> tuple[str | None, str | None]:
    """ "SPRINGFIELD GARDENS,NY" -> ("SPRINGFIELD GARDENS", "NY"); a city alone otherwise."""
    city, sep, region = place.rpartition(",")
    region = region.strip()
    if sep and len(region) == 2 and region.isalpha():
        return (city.strip() or None), region
    return (place.strip() or None), None


def place_from_text(text: str | None) -> Location:
    """A location from "City[, RG] - Country" free text (Express service areas, localities).

    The country is the longest known country name after a hyphen; text without one is kept
    as the city with no country.
    """
    cleaned = " ".join((text or "").split())
    for index, char in enumerate(cleaned):
        if char != "-":
            continue
        country = country_code(cleaned[index + 1 :])
        if country is not None:
            city, region = _split_region(cleaned[:index])
            return Location(city=city, region=region, country=country)
    return Location(city=cleaned or None)


def is_placed(location: Location | None) -> bool:
    """True when a location names a country or region, i.e. could have a time zone."""
    return location is not None and bool(location.country or location.region)
