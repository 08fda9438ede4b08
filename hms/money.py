"""Money as integer minor units plus an ISO 4217 currency code."""

from __future__ import annotations

import functools
from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision


def minor_to_decimal(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-get_currency_precision(currency))


def decimal_to_minor(amount: Decimal, currency: str) -> int:
    """Whole minor units; raises ValueError when `amount` has more decimals than the currency."""
    scaled = amount.scaleb(get_currency_precision(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{currency} has only {get_currency_precision(currency)} decimals")
    return int(scaled)


@functools.lru_cache(maxsize=4096)
def format_money(amount_minor: int, currency: str, locale: str = "en") -> str:
    """An amount written the reader's way; Babel's formatting is costly and pages repeat amounts (a
    search page shows each doctor's fee), so each amount, currency and language is formatted once per
    process."""
    return format_currency(minor_to_decimal(amount_minor, currency), currency, locale=locale)
