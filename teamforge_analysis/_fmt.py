"""Number formatting for generated sentences and tables (rounding is for text only)."""

from __future__ import annotations

from collections.abc import Sequence


def num(value: float | None, digits: int = 2) -> str:
    """Fixed-point number, or ``n/a`` for a missing value."""
    if value is None:
        return "n/a"
    text = f"{value:.{digits}f}"
    return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text


def short(value: float | None, digits: int = 2) -> str:
    """A number with trailing zeros dropped (14.25, 27, 0.7)."""
    if value is None:
        return "n/a"
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def pval(p: float | None) -> str:
    """``p = 0.267``, ``p = 0.0123`` or ``p < 0.001`` (three significant digits)."""
    if p is None:
        return "p n/a"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3g}"


def ci(interval: Sequence[float] | None, digits: int = 2) -> str:
    """``95% CI -0.77 to 0.99`` or ``no 95% CI``."""
    if interval is None:
        return "no 95% CI"
    return f"95% CI {num(interval[0], digits)} to {num(interval[1], digits)}"


def names(items: Sequence[str], *, conjunction: str = "and", at_most: int | None = None) -> str:
    """``a``, ``a and b``, ``a, b and c``; past ``at_most`` items, ``a, b and 118 others``."""
    items = list(items)
    if not items:
        return "none"
    if at_most is not None and len(items) > at_most:
        return f"{', '.join(items[:at_most])} {conjunction} {len(items) - at_most} others"
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"
