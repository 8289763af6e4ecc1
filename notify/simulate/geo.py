"""The simulated world's geography: regions, destination cities, warehouses and hubs.

Every place is real (city, state or province, a postal code of that city) and its zone is
the one :func:`carriers.timezones.zone_for` gives for its state or country, so the offset
of a scan can be checked against its location. Customers live in the cities below (weighted
by population); parcels leave one of three warehouses and cross one to three sort hubs on
their lane. Hubs are sites of several carriers in the same metro area, so a weather incident
at a hub delays every carrier's parcels routed through it.
"""

from __future__ import annotations

from dataclasses import dataclass

from carriers.models import Location
from carriers.timezones import zone_for

# Destination regions of the United States, each served by one regional sort hub.
US_REGIONS: dict[str, tuple[str, ...]] = {
    "northeast": ("CT", "MA", "ME", "NH", "NJ", "NY", "RI", "VT"),
    "mid_atlantic": ("DC", "DE", "MD", "PA", "VA", "WV"),
    "southeast": ("AL", "FL", "GA", "NC", "SC", "TN"),
    "great_lakes": ("IL", "IN", "KY", "MI", "OH", "WI"),
    "plains": ("IA", "KS", "MN", "MO", "ND", "NE", "SD"),
    "south_central": ("AR", "LA", "MS", "OK", "TX"),
    "mountain": ("CO", "ID", "MT", "NM", "UT", "WY"),
    "pacific_southwest": ("AZ", "CA", "HI", "NV"),
    "pacific_northwest": ("AK", "OR", "WA"),
}
INTL_REGIONS: dict[str, tuple[str, ...]] = {"europe": ("DE", "GB"), "canada": ("CA",)}
REGIONS: tuple[str, ...] = (*US_REGIONS, *INTL_REGIONS)

# (city, region, first postal code, area code, postal codes in use from the first)
City = tuple[str, str, str, str, int]

# State -> (population in millions, cities). Postal codes step up from the first one.
US_CITIES: dict[str, tuple[float, tuple[City, ...]]] = {
    "AL": (5.1, (("Birmingham", "AL", "35203", "205", 9), ("Montgomery", "AL", "36104", "334", 6))),
    "AK": (0.7, (("Anchorage", "AK", "99501", "907", 8),)),
    "AZ": (7.4, (("Phoenix", "AZ", "85003", "602", 9), ("Tucson", "AZ", "85701", "520", 9))),
    "AR": (3.1, (("Little Rock", "AR", "72201", "501", 9),)),
    "CA": (
        39.0,
        (
            ("Los Angeles", "CA", "90012", "213", 9),
            ("San Diego", "CA", "92101", "619", 9),
            ("San Francisco", "CA", "94103", "415", 9),
            ("Sacramento", "CA", "95814", "916", 9),
            ("Fresno", "CA", "93721", "559", 6),
        ),
    ),
    "CO": (
        5.9,
        (("Denver", "CO", "80202", "303", 9), ("Colorado Springs", "CO", "80903", "719", 7)),
    ),
    "CT": (3.6, (("Hartford", "CT", "06103", "860", 9), ("New Haven", "CT", "06510", "203", 9))),
    "DE": (1.0, (("Wilmington", "DE", "19801", "302", 9),)),
    "DC": (0.7, (("Washington", "DC", "20001", "202", 9),)),
    "FL": (
        22.6,
        (
            ("Miami", "FL", "33130", "305", 9),
            ("Orlando", "FL", "32801", "407", 9),
            ("Tampa", "FL", "33602", "813", 9),
            ("Jacksonville", "FL", "32202", "904", 9),
        ),
    ),
    "GA": (11.0, (("Atlanta", "GA", "30303", "404", 9), ("Savannah", "GA", "31401", "912", 6))),
    "HI": (1.4, (("Honolulu", "HI", "96813", "808", 9),)),
    "ID": (1.9, (("Boise", "ID", "83702", "208", 7),)),
    "IL": (12.5, (("Chicago", "IL", "60601", "312", 9), ("Springfield", "IL", "62701", "217", 3))),
    "IN": (
        6.8,
        (("Indianapolis", "IN", "46204", "317", 9), ("Fort Wayne", "IN", "46802", "260", 6)),
    ),
    "IA": (3.2, (("Des Moines", "IA", "50309", "515", 6),)),
    "KS": (2.9, (("Wichita", "KS", "67202", "316", 9),)),
    "KY": (4.5, (("Louisville", "KY", "40202", "502", 9), ("Lexington", "KY", "40507", "859", 6))),
    "LA": (
        4.6,
        (("New Orleans", "LA", "70112", "504", 9), ("Baton Rouge", "LA", "70801", "225", 6)),
    ),
    "ME": (1.4, (("Portland", "ME", "04101", "207", 2),)),
    "MD": (6.2, (("Baltimore", "MD", "21201", "410", 9),)),
    "MA": (7.0, (("Boston", "MA", "02108", "617", 9), ("Worcester", "MA", "01608", "508", 2))),
    "MI": (10.0, (("Detroit", "MI", "48226", "313", 9), ("Grand Rapids", "MI", "49503", "616", 5))),
    "MN": (
        5.7,
        (("Minneapolis", "MN", "55401", "612", 9), ("Saint Paul", "MN", "55101", "651", 6)),
    ),
    "MS": (2.9, (("Jackson", "MS", "39201", "601", 5),)),
    "MO": (6.2, (("Kansas City", "MO", "64105", "816", 6), ("St. Louis", "MO", "63101", "314", 9))),
    "MT": (1.1, (("Billings", "MT", "59101", "406", 5),)),
    "NE": (2.0, (("Omaha", "NE", "68102", "402", 9),)),
    "NV": (3.2, (("Las Vegas", "NV", "89101", "702", 9),)),
    "NH": (1.4, (("Manchester", "NH", "03101", "603", 3),)),
    "NJ": (9.3, (("Newark", "NJ", "07102", "973", 9), ("Jersey City", "NJ", "07302", "201", 5))),
    "NM": (2.1, (("Albuquerque", "NM", "87102", "505", 9),)),
    "NY": (
        19.6,
        (
            ("New York", "NY", "10001", "212", 9),
            ("Brooklyn", "NY", "11201", "718", 9),
            ("Buffalo", "NY", "14202", "716", 9),
            ("Albany", "NY", "12207", "518", 3),
        ),
    ),
    "NC": (10.8, (("Charlotte", "NC", "28202", "704", 9), ("Raleigh", "NC", "27601", "919", 9))),
    "ND": (0.8, (("Fargo", "ND", "58102", "701", 2),)),
    "OH": (
        11.8,
        (
            ("Columbus", "OH", "43215", "614", 9),
            ("Cleveland", "OH", "44113", "216", 9),
            ("Cincinnati", "OH", "45202", "513", 9),
        ),
    ),
    "OK": (4.0, (("Oklahoma City", "OK", "73102", "405", 9), ("Tulsa", "OK", "74103", "918", 6))),
    "OR": (4.2, (("Portland", "OR", "97204", "503", 6),)),
    "PA": (
        13.0,
        (("Philadelphia", "PA", "19103", "215", 9), ("Pittsburgh", "PA", "15222", "412", 6)),
    ),
    "RI": (1.1, (("Providence", "RI", "02903", "401", 6),)),
    "SC": (5.3, (("Columbia", "SC", "29201", "803", 9), ("Charleston", "SC", "29401", "843", 6))),
    "SD": (0.9, (("Sioux Falls", "SD", "57104", "605", 5),)),
    "TN": (7.0, (("Nashville", "TN", "37203", "615", 9), ("Memphis", "TN", "38103", "901", 9))),
    "TX": (
        30.0,
        (
            ("Houston", "TX", "77002", "713", 9),
            ("Dallas", "TX", "75201", "214", 9),
            ("San Antonio", "TX", "78205", "210", 9),
            ("Austin", "TX", "78701", "512", 9),
        ),
    ),
    "UT": (3.4, (("Salt Lake City", "UT", "84101", "801", 9),)),
    "VT": (0.6, (("Burlington", "VT", "05401", "802", 2),)),
    "VA": (
        8.7,
        (("Richmond", "VA", "23219", "804", 9), ("Virginia Beach", "VA", "23451", "757", 4)),
    ),
    "WA": (7.8, (("Seattle", "WA", "98101", "206", 9), ("Spokane", "WA", "99201", "509", 9))),
    "WV": (1.8, (("Charleston", "WV", "25301", "304", 9),)),
    "WI": (5.9, (("Milwaukee", "WI", "53202", "414", 9), ("Madison", "WI", "53703", "608", 6))),
    "WY": (0.6, (("Cheyenne", "WY", "82001", "307", 8),)),
}

# Country -> (share of international customers, cities). Postal codes used as written.
INTL_CITIES: dict[str, tuple[float, tuple[City, ...]]] = {
    "DE": (0.5, (
        ("Berlin", "", "10115", "", 0), ("München", "", "80331", "", 0),
        ("Hamburg", "", "20095", "", 0), ("Köln", "", "50667", "", 0),
    )),
    "GB": (0.2, (("London", "", "EC1A 1BB", "", 0), ("Manchester", "", "M1 1AE", "", 0))),
    "CA": (0.3, (("Toronto", "ON", "M5V 2T6", "", 0), ("Vancouver", "BC", "V6B 1A1", "", 0))),
}  # fmt: skip


@dataclass(frozen=True)
class Site:
    """A fixed place that scans happen at: a warehouse or a carrier hub."""

    code: str
    city: str
    region: str  # state or province code; empty outside the US and Canada
    postal_code: str
    country: str
    area: str  # the destination region it belongs to

    @property
    def zone(self) -> str:
        zone = zone_for(Location(region=self.region or None, country=self.country))
        if zone is None:
            raise ValueError(f"no zone for site {self.code}")
        return zone.key


# Warehouses the shop ships from; the origin region of a lane is the warehouse's region.
WAREHOUSES: tuple[Site, ...] = (
    Site("RNO", "Reno", "NV", "89502", "US", "pacific_southwest"),
    Site("CMH", "Columbus", "OH", "43217", "US", "great_lakes"),
    Site("ABE", "Allentown", "PA", "18109", "US", "mid_atlantic"),
)

# Regional sort hubs (one per US region), national hubs and the international gateways.
HUBS: tuple[Site, ...] = (
    Site("EWR", "Secaucus", "NJ", "07094", "US", "northeast"),
    Site("MDT", "Harrisburg", "PA", "17111", "US", "mid_atlantic"),
    Site("ATL", "Atlanta", "GA", "30354", "US", "southeast"),
    Site("ORD", "Chicago", "IL", "60638", "US", "great_lakes"),
    Site("MCI", "Kansas City", "MO", "64153", "US", "plains"),
    Site("DFW", "Dallas", "TX", "75261", "US", "south_central"),
    Site("DEN", "Denver", "CO", "80239", "US", "mountain"),
    Site("ONT", "Ontario", "CA", "91761", "US", "pacific_southwest"),
    Site("SEA", "Kent", "WA", "98032", "US", "pacific_northwest"),
    Site("MEM", "Memphis", "TN", "38118", "US", "southeast"),
    Site("SDF", "Louisville", "KY", "40209", "US", "great_lakes"),
    Site("IND", "Indianapolis", "IN", "46241", "US", "great_lakes"),
    Site("CVG", "Hebron", "KY", "41048", "US", "great_lakes"),
    Site("LEJ", "Schkeuditz", "", "04435", "DE", "europe"),
    Site("EMA", "Castle Donington", "", "DE74 2SA", "GB", "europe"),
    Site("YYZ", "Mississauga", "ON", "L5P 1B2", "CA", "canada"),
)
HUB_CODES: tuple[str, ...] = tuple(h.code for h in HUBS)
REGIONAL_HUB: dict[str, str] = {
    "northeast": "EWR", "mid_atlantic": "MDT", "southeast": "ATL", "great_lakes": "ORD",
    "plains": "MCI", "south_central": "DFW", "mountain": "DEN", "pacific_southwest": "ONT",
    "pacific_northwest": "SEA",
}  # fmt: skip
GATEWAY_HUB: dict[str, str] = {"DE": "LEJ", "GB": "EMA", "CA": "YYZ"}
EXPORT_HUB = "CVG"

# Ground transit in business days from each warehouse (by index) to each US region.
GROUND_DAYS: dict[str, tuple[int, int, int]] = {
    "northeast": (5, 2, 1), "mid_atlantic": (5, 1, 1), "southeast": (5, 2, 2),
    "great_lakes": (4, 1, 2), "plains": (3, 2, 3), "south_central": (3, 3, 3),
    "mountain": (2, 4, 4), "pacific_southwest": (1, 5, 5), "pacific_northwest": (2, 5, 5),
}  # fmt: skip
FAR_STATES = frozenset({"AK", "HI"})  # two more days by ground
# DHL Express Worldwide transit in business days from the US by destination country.
INTL_DAYS: dict[str, int] = {"DE": 3, "GB": 3, "CA": 2}


def nearest_warehouse(region: str) -> int:
    """The warehouse (index) with the shortest ground transit to a region."""
    if region in INTL_REGIONS:
        return 2
    days = GROUND_DAYS[region]
    return days.index(min(days))


def state_region(state: str) -> str:
    for region, states in US_REGIONS.items():
        if state in states:
            return region
    raise KeyError(state)


def country_region(country: str) -> str:
    for region, countries in INTL_REGIONS.items():
        if country in countries:
            return region
    raise KeyError(country)


@dataclass(frozen=True)
class Destinations:
    """Every destination city as parallel tuples (index = destination city id)."""

    city: tuple[str, ...]
    region: tuple[str, ...]  # state or province code, "" where none
    postal_base: tuple[str, ...]
    postal_spread: tuple[int, ...]
    area_code: tuple[str, ...]
    country: tuple[str, ...]
    area: tuple[str, ...]  # destination region (lane end)
    zone: tuple[str, ...]
    weight: tuple[float, ...]  # share of customers living there
    intl: tuple[bool, ...]


def _zone_key(region: str, country: str) -> str:
    zone = zone_for(Location(region=region or None, country=country))
    if zone is None:
        raise ValueError(f"no zone for {region!r} {country!r}")
    return zone.key


def destinations(intl_share: float) -> Destinations:
    """The destination cities, weighted so that ``intl_share`` of customers live abroad."""
    rows: list[tuple[City, str, str, float, bool]] = []
    us_total = sum(pop for pop, _ in US_CITIES.values())
    for state, (pop, cities) in US_CITIES.items():
        for city in cities:
            share = (1 - intl_share) * pop / us_total / len(cities)
            rows.append((city, "US", state_region(state), share, False))
    for country, (share, cities) in INTL_CITIES.items():
        for city in cities:
            rows.append(
                (city, country, country_region(country), intl_share * share / len(cities), True)
            )
    return Destinations(
        city=tuple(r[0][0] for r in rows),
        region=tuple(r[0][1] for r in rows),
        postal_base=tuple(r[0][2] for r in rows),
        postal_spread=tuple(r[0][4] for r in rows),
        area_code=tuple(r[0][3] for r in rows),
        country=tuple(r[1] for r in rows),
        area=tuple(r[2] for r in rows),
        zone=tuple(_zone_key(r[0][1], r[1]) for r in rows),
        weight=tuple(r[3] for r in rows),
        intl=tuple(r[4] for r in rows),
    )
