"""Contact validity: which addresses and numbers a message may go to, normalised.

Email: syntax checked with email-validator (no DNS lookups). SMS: parsed with
phonenumbers in the customer's region, valid, and able to receive SMS (mobile, or the
"fixed line or mobile" type North American numbers report); returned in E.164.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

SMS_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


@lru_cache(maxsize=65536)
def email_address(raw: str | None) -> str | None:
    """The normalised address, or None when it is not a usable email address."""
    if not raw:
        return None
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def region_of(locale: str | None) -> str:
    """The region part of a BCP 47 locale (``en-US`` -> ``US``), US when absent."""
    parts = (locale or "").replace("_", "-").split("-")
    return parts[-1].upper() if len(parts) > 1 and len(parts[-1]) == 2 else "US"


@lru_cache(maxsize=65536)
def sms_number(raw: str | None, region: str = "US") -> str | None:
    """The E.164 number when it is valid and can receive SMS, else None."""
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) not in SMS_TYPES:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
