"""Number formatting for generated sentences and tables (rounding is for text only)."""

from __future__ import annotations

import re
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


#: Names (models, tasks, levels) longer than this are shortened in figures and on the console
#: (never in findings.json, and never in findings.md, which is a document to read in full).
NAME_WIDTH = 40

# Characters that would break a line, move the cursor or recolour a terminal, or cannot be
# encoded at all (lone surrogates, from file names that are not UTF-8): C0 and C1 controls,
# DEL, the line and paragraph separators and surrogates.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def one_line(text: str) -> str:
    r"""``text`` on one line, every control character written as its escape.

    Examples
    --------
    >>> one_line("a\nb\u2028c\x1b[31m")
    'a\\nb\\u2028c\\x1b[31m'
    """
    return _UNPRINTABLE.sub(_escape, text)


def shorten(text: str, width: int = NAME_WIDTH) -> str:
    """At most ``width`` characters: a longer text keeps its start and its end (where versions
    and sizes usually differ) around an ellipsis.

    Examples
    --------
    >>> shorten("x" * 30 + "-instruct-8192", 20)
    'xxxxxxxxxxxx…ct-8192'
    """
    if len(text) <= width:
        return text
    head = (width - 1) * 2 // 3
    tail = width - 1 - head
    return text[:head] + "…" + (text[-tail:] if tail else "")


def display_name(text: object, width: int = NAME_WIDTH) -> str:
    """A name as figures and the console show it: on one line and at most ``width`` long."""
    return shorten(one_line(str(text)), width)
