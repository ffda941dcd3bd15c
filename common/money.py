"""Money: Decimal end to end, 14 digits with 2 decimals in the database."""

from decimal import Decimal

from django.db import models

MONEY_MAX_DIGITS = 14
MONEY_DECIMAL_PLACES = 2
CENT = Decimal("0.01")
MAX_MONEY = Decimal(10) ** (MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES) - CENT


def checked_money(amount: Decimal) -> Decimal:
    """An amount that fits the money columns (finite, >= 0, 2 decimals), else ``ValueError``."""
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    if amount < 0:
        raise ValueError("must be greater than or equal to 0")
    if amount > MAX_MONEY:
        raise ValueError(f"must be at most {MAX_MONEY}")
    if amount != amount.quantize(CENT):
        raise ValueError("must have at most 2 decimals")
    return abs(amount.quantize(CENT))  # abs(): -0.0 is stored and shown as 0.00


class MoneyField(models.DecimalField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", MONEY_MAX_DIGITS)
        kwargs.setdefault("decimal_places", MONEY_DECIMAL_PLACES)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        # Migrations record a plain DecimalField, so they never depend on this class's import path.
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DecimalField", args, kwargs
