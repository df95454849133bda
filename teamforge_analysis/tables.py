"""Renderer-neutral tables and texts, with their markdown: what findings, reports and notebooks
show. Every object here displays itself in Jupyter as markdown (and nbconvert exports it so).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import _fmt as fmt
from ._checks import require_count
from ._fmt import one_line

__all__ = ["MAX_TABLE_MODELS", "MAX_TABLE_ROWS", "Bullets", "Markdown", "Note", "Parts",
           "Table", "frame_table"]

#: Console and markdown tables list every model, up to this many (the best by score); the JSON
#: document keeps every model.
MAX_TABLE_MODELS = 1000
#: Other long tables (runs, episodes, flagged rows) show this many rows, then say where the
#: rest is.
MAX_TABLE_ROWS = 60


class _ShowsMarkdown:
    """Jupyter displays the object as its markdown (and nbconvert exports it so)."""

    def to_markdown(self) -> str:
        raise NotImplementedError

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


@dataclass(frozen=True)
class Table(_ShowsMarkdown):
    """A table of already formatted cells."""

    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str | None = None
    label_columns: int = 1  # leading columns of names, never wrapped

    @property
    def numeric(self) -> tuple[bool, ...]:
        """Per column, whether it holds numbers (every cell a number, an interval, ``n/a`` or
        blank, and some cell a number): such columns are right-aligned."""
        columns = [[row[i] for row in self.rows if i < len(row)] for i in range(len(self.headers))]
        return tuple(any(re.search(r"\d", c) for c in column)
                     and all(not c or fmt.NUMERIC_CELL.fullmatch(c) for c in column)
                     for column in columns)

    def to_markdown(self) -> str:
        """The caption in bold, a pipe table (number columns right-aligned), the note in
        italics."""
        lines = [f"**{md_text(self.caption)}**", ""]
        lines.append("| " + " | ".join(_md_cell(h) for h in self.headers) + " |")
        lines.append("|" + "|".join("---:" if n else "---" for n in self.numeric) + "|")
        lines.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in self.rows)
        if self.note:
            lines += ["", f"_{md_text(self.note)}_"]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Note(_ShowsMarkdown):
    """A sentence shown where a table would be (in italics in markdown)."""

    text: str

    def to_markdown(self) -> str:
        return f"_{md_text(self.text)}_\n"


@dataclass(frozen=True)
class Bullets(_ShowsMarkdown):
    """A bulleted list of sentences; ``empty`` is said when there are none."""

    items: tuple[str, ...]
    empty: str = "None."

    def to_markdown(self) -> str:
        if not self.items:
            return f"{md_text(self.empty)}\n"
        return "".join(f"- {md_text(item)}\n" for item in self.items)


@dataclass(frozen=True)
class Markdown(_ShowsMarkdown):
    """Text that is markdown already (the library's own wording, not text from the data)."""

    text: str

    def to_markdown(self) -> str:
        return self.text.rstrip("\n") + "\n"

    def __str__(self) -> str:
        return self.text


class Parts(tuple, _ShowsMarkdown):  # type: ignore[type-arg]
    """Tables, notes and texts (a tuple of them), shown one after another."""

    def to_markdown(self) -> str:
        return "\n".join(item.to_markdown() for item in self)


def _format_cells(column: pd.Series, number: fmt.Format) -> list[str]:
    """Display text for every cell of one column: integers as counts, other numbers by
    ``number``."""
    def cell(value: Any) -> str:
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        if isinstance(value, bool | np.bool_):
            return fmt.yes_no(bool(value))
        if isinstance(value, int | np.integer):
            return fmt.count(value)
        if isinstance(value, float | np.floating):
            return number(float(value))
        return str(value)

    return [cell(value) for value in column.tolist()]


def frame_table(frame: pd.DataFrame, caption: str, *, number: fmt.Format | None = None,
                max_rows: int = MAX_TABLE_ROWS, note: str | None = None,
                source: str | None = None) -> Table:
    """Show a DataFrame as a :class:`Table`.

    Parameters
    ----------
    frame
        Any DataFrame; a named index becomes the leading column(s).
    caption
        The table's caption.
    number
        How non-integer numbers are shown (a formatter of :mod:`._fmt`, e.g. ``fmt.score``);
        by default by their column's kind (:data:`._fmt.COLUMN_KINDS`: ``score`` to three
        decimals, ``steps`` to two), other columns as given (``0.2``, ``46.7``).
    max_rows
        At most this many rows are shown; the note says how many more there are.
    note
        Text shown under the table; for a frame with no rows it defaults to ``No rows.``
    source
        The call that returns the whole frame, named in the note when rows are left out.

    Returns
    -------
    Table
        Integers show as counts, missing values as ``n/a`` and booleans as ``yes``/``no``.

    Examples
    --------
    >>> frame = pd.DataFrame({"model": ["a", "b"], "score": [0.5, None], "passed": [True, False]})
    >>> print(frame_table(frame, "Scores").to_markdown())
    **Scores**
    <BLANKLINE>
    | model | score | passed |
    |---|---:|---|
    | a | 0.500 | yes |
    | b | n/a | no |
    <BLANKLINE>
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame, not {type(frame).__name__}")
    require_count("max_rows", max_rows)
    if any(name is not None for name in frame.index.names):
        frame = frame.reset_index()
    shown = frame.head(max_rows)
    cells = [_format_cells(shown.iloc[:, i],
                           number or fmt.COLUMN_KINDS.get(str(shown.columns[i]), fmt.given))
             for i in range(shown.shape[1])]
    rows = tuple(zip(*cells, strict=True)) if cells else ((),) * len(shown)
    left_out = len(frame) - len(shown)
    if left_out:
        more = f"{left_out} more row{'s' if left_out != 1 else ''} not shown"
        more += f"; {source} returns them all." if source else "."
        note = f"{note} {more}" if note else more
    if frame.empty and note is None:
        note = "No rows."
    numeric = [pd.api.types.is_numeric_dtype(dtype) for dtype in shown.dtypes]
    labels = next((i for i, is_number in enumerate(numeric) if is_number), len(numeric))
    return Table(caption, tuple(str(c) for c in shown.columns), rows, note,
                 label_columns=labels)


CORR_HEADERS = ("", "n", "r", "95% CI", "p", "permutation p", "Spearman rho", "Kendall tau",
                "min. detectable |r| (parametric)")


def corr_row(label: str, corr: dict[str, Any] | None) -> tuple[str, ...]:
    """A row of :data:`CORR_HEADERS` for one correlation (a dict of the JSON document)."""
    corr = corr or {}
    return (label, fmt.count(corr.get("n")), fmt.corr(corr.get("r")),
            fmt.span(corr.get("ci95"), fmt.corr), fmt.p(corr.get("p_value")),
            fmt.p(corr.get("p_permutation")), fmt.corr(corr.get("spearman_rho")),
            fmt.corr(corr.get("kendall_tau")), fmt.corr(corr.get("min_detectable_r")))


def more_models_note(total: int, shown: int) -> str | None:
    return f"{total - shown} more models are in findings.json." if total > shown else None


def more_rows_note(total: int, statistic: str) -> str | None:
    if total <= MAX_TABLE_ROWS:
        return None
    return (f"{total - MAX_TABLE_ROWS} more rows: all {total} are in findings.json "
            f"(statistics.{statistic}).")


# ----------------------------------------------------------------------------------------------
# Markdown
# ----------------------------------------------------------------------------------------------
# Characters that markdown (CommonMark, GitHub's tables, math and strikethrough) would read as
# markup anywhere in a line: escaped with a backslash. An underscore between two letters or
# digits cannot start emphasis and stays as it is (``easy_bugfix_chunk_list``).
_MD_PUNCTUATION = re.compile(r"[\\`*\[\]~$]|(?<![^\W_])_|_(?![^\W_])")
# `<` that could open an HTML tag or autolink, `>` that could close one or start a quotation,
# `&` that could start an entity: written as entities, so `<script>` shows as typed while
# the report's own "p < 0.001" and "score >= threshold" stay readable in the file.
_MD_ENTITIES = re.compile(r"<(?!\s)|(?<!\s)>|&(?=#?\w+;)")
_ENTITY = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
# What would turn the start of a paragraph into a heading, list item or setext underline.
_MD_BLOCK_START = re.compile(r"^(?:([#+=-])|([0-9]+)([.)]))")


def md_text(text: str) -> str:
    r"""``text`` (a name, or a sentence holding names) shown literally by a markdown renderer:
    on one line, markup characters escaped.

    Examples
    --------
    >>> print(md_text(r"[red]x <script> $^$ a_b _key `c` \|"))
    \[red\]x &lt;script&gt; \$^\$ a_b \_key \`c\` \\|
    """
    text = _MD_PUNCTUATION.sub(lambda m: "\\" + m.group(), one_line(text))
    return _MD_ENTITIES.sub(lambda m: _ENTITY[m.group()], text)


def md_paragraph(text: str) -> str:
    """:func:`md_text` for a whole paragraph, whose first characters could also make it a
    heading or a list item (``# 1``, ``- x``, ``1. x``)."""
    return _MD_BLOCK_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}",
                               md_text(text))


def _md_cell(text: str) -> str:
    """A table cell: :func:`md_text`, and ``|`` escaped so that it cannot add a column."""
    return md_text(text).replace("|", "\\|")


def md_code(text: str) -> str:
    """``text`` as a code span: fenced by more backticks than it holds, padded where it
    starts or ends with a backtick or a space (which the renderer would otherwise eat)."""
    text = one_line(text)
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
