"""How text shows numbers: one formatter per kind of number (:func:`score`, :func:`corr`,
:func:`p` and :func:`pval`, :func:`steps`, :func:`stat` and :func:`given`, :func:`count`,
:func:`pct`; :func:`span` and :func:`ci` for intervals), for every table cell, sentence, console
line and figure annotation. :data:`RULE` states the rule (``docs/methods.md`` quotes it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

Format = Callable[[float | None], str]

#: The precision rule, one kind of number at a time.
RULE = (
    "Every number in a table, a text, the console or a figure is rounded by its kind: "
    "quantities on the score scale (scores, level scores, score differences, thresholds, "
    "rewards, grader components, standard errors, score intervals) to 3 decimals (0.740); "
    "correlation-type coefficients (r, ρ, τ, partial r, Kendall's W, differences of r) and "
    "their intervals to 2 (0.73); p-values to 3 significant digits (more where 3 would round "
    "a p across α = 0.05: 0.04996), below 0.001 written < 0.001; steps, d and other averages "
    "of counts to 2 decimals (14.25); test statistics (U, Wilcoxon W) and values as declared "
    "(weights, model sizes, the methods' settings) to 6 significant digits, trailing zeros "
    "dropped (0.4, 0.9996); counts as integers; percentages whole (78%). A missing value is "
    "n/a. Rounding is for text only: findings.json keeps every number unrounded."
)


def _decimals(digits: int) -> Format:
    def show(value: float | None) -> str:
        text = "n/a" if value is None else f"{value:.{digits}f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"
    return show


score, corr, steps = _decimals(3), _decimals(2), _decimals(2)


def given(value: float | None) -> str:
    """A number as declared, to 6 significant digits with trailing zeros dropped: ``0.4``,
    ``46.7``, ``27``, ``0.9996``, ``0.000333333`` (never rounded to ``1`` or ``0``)."""
    if value is None:
        return "n/a"
    text = f"{value:.6g}"
    return "0" if text == "-0" else text


stat = given


def count(value: float | None) -> str:
    return "n/a" if value is None else str(int(value))


def pct(fraction: float | None) -> str:
    return "n/a" if fraction is None else f"{_decimals(0)(100 * fraction)}%"


#: Significance level of every rule (two-sided). Declared here, below the statistics, because
#: the p-value formatter must never round a p across it.
ALPHA = 0.05


def p(value: float | None) -> str:
    """A p-value: ``0.267``, ``0.0123``, ``< 0.001`` or ``n/a`` (three significant digits;
    more where three would carry a p across :data:`ALPHA`: ``0.04996``, not ``0.05``)."""
    if value is None:
        return "n/a"
    if value < 0.001:
        return "< 0.001"
    digits = 3
    while (float(f"{value:.{digits}g}") < ALPHA) != (value < ALPHA) and digits < 17:
        digits += 1
    return f"{value:.{digits}g}"


def pval(value: float | None) -> str:
    """A p-value in a sentence: ``p = 0.267``, ``p < 0.001`` or ``p n/a``."""
    return f"p {p(value)}" if value is None or value < 0.001 else f"p = {p(value)}"


#: The kind of a column of the data or of the library's frames, by name, where a table shows a
#: frame (integers are counts; any other number is shown as given).
COLUMN_KINDS: dict[str, Format] = {"steps": steps, **dict.fromkeys((
    "score", "test_pass", "lint_score", "efficiency_score", "review_quality",
    "reflection_quality", "pass_threshold", "recomputed", "reward", "total_reward",
    "reward_slope"), score)}

#: A cell of numbers: ``0.73``, ``+0.052``, ``78%``, ``n/a``, ``< 0.001``, ``-0.77 to 0.99``,
#: ``22% of 9``, ``0.846 (0.770 to 0.923)``.
_NUMBERS = r"(?:n/a|< ?\d[\d.]*|[+-]?\d[\d.]*%?)(?: (?:to|of) (?:n/a|[+-]?\d[\d.]*%?))?"
NUMERIC_CELL = re.compile(rf"{_NUMBERS}(?: \({_NUMBERS}\))?")


def yes_no(value: bool | None) -> str:
    return "n/a" if value is None else ("yes" if value else "no")


def span(bounds: Sequence[float] | None, kind: Format) -> str:
    """An interval, each end formatted by ``kind``: ``-0.77 to 0.99``, or ``n/a``."""
    return f"{kind(bounds[0])} to {kind(bounds[1])}" if bounds else "n/a"


def ci(bounds: Sequence[float] | None, kind: Format) -> str:
    """A 95% interval in a sentence: ``95% CI -0.77 to 0.99``, or ``no 95% CI``."""
    return f"95% CI {span(bounds, kind)}" if bounds else "no 95% CI"


def names(items: Sequence[str], *, conjunction: str = "and", at_most: int | None = None) -> str:
    """``a``, ``a and b``, ``a, b and c``; past ``at_most`` items, ``a, b and 118 others``
    (one item past it is named: "and 1 others" would take as long)."""
    items = list(items)
    if not items:
        return "none"
    if at_most is not None and len(items) > at_most + 1:
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
