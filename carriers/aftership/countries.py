"""ISO 3166 country codes between AfterShip's alpha-3 and our alpha-2.

The mapping comes from CLDR's territory code mappings as shipped with Babel (a project
dependency), so no table is kept here. CLDR also lists six withdrawn alpha-3 codes that
point at a current country (read, never written) and maps ISO's private-use codes such as
XXX and ZZZ (ignored: they name no country).
"""

from __future__ import annotations

from functools import lru_cache

# Withdrawn alpha-3 codes CLDR maps onto a current alpha-2 (Burma, Zaire, East Germany,
# Metropolitan France, East Timor, South Yemen): accepted on input, not produced.
_WITHDRAWN = frozenset({"BUR", "ZAR", "DDR", "FXX", "TMP", "YMD"})


def _user_assigned(alpha_2: str) -> bool:
    """ISO 3166 codes left for private use (AA, QM-QZ, XA-XZ, ZZ): no country."""
    return alpha_2 in ("AA", "ZZ") or alpha_2[0] == "X" or "QM" <= alpha_2 <= "QZ"


@lru_cache(maxsize=1)
def _alpha3_to_alpha2() -> dict[str, str]:
    from babel.core import get_global

    aliases = get_global("territory_aliases")
    return {
        code: targets[0]
        for code, targets in aliases.items()
        if len(code) == 3
        and code.isalpha()
        and len(targets) == 1
        and len(targets[0]) == 2
        and not _user_assigned(targets[0])
    }


@lru_cache(maxsize=1)
def _alpha2_to_alpha3() -> dict[str, str]:
    return {two: three for three, two in _alpha3_to_alpha2().items() if three not in _WITHDRAWN}


def alpha2(code: object) -> str | None:
    """Alpha-2 for an alpha-2 or alpha-3 code; None when ``code`` is not a known code."""
    if not isinstance(code, str):
        return None
    text = code.strip().upper()
    if len(text) == 2 and text.isalpha():
        return text
    if len(text) == 3 and text.isalpha():
        return _alpha3_to_alpha2().get(text)
    return None


def alpha3(code: str | None) -> str | None:
    """Alpha-3 for an alpha-2 code; None when unknown."""
    if not code:
        return None
    return _alpha2_to_alpha3().get(code.strip().upper())
