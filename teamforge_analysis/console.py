"""The findings on the console: rich tables that fit the terminal's width with every number
whole (names shortened, headers broken between words, a table too wide split into parts that
repeat the names), and the verdicts in panels. rich is imported only when printing."""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass
from functools import cache
from itertools import accumulate, pairwise
from typing import TYPE_CHECKING, Any

from ._fmt import NAME_WIDTH, display_name, one_line, shorten
from .report import (
    claim_label,
    evidence_tables,
    leaderboard_table,
    runs_phrase,
    uncertainty_tables,
)
from .tables import Table

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["LABEL_MIN_WIDTH", "print_console", "print_table"]

_VERDICT_STYLE = {
    "supported": "green",
    "contradicted": "red",
    "inconclusive": "yellow",
    "not_computable": "dim",
    "descriptive": "blue",
}


#: On the console a name is not shortened below this many characters while splitting the table
#: would leave it room: shorter, too little of its start and end (where names differ) shows.
LABEL_MIN_WIDTH = 16
#: A header word is not shortened below this many characters ("Inflat…" still reads).
_HEADER_MIN_WIDTH = 6
#: A text column (verdicts, reasons) folds inside a word only below this width, and only
#: when splitting the table cannot make room.
_TEXT_MIN_WIDTH = 8
#: The stages of :func:`_floor`: up to _SPLIT_STAGE a table is narrowed; past it, split
#: into parts first, and only a part that still does not fit goes on to _LAST_STAGE.
_SPLIT_STAGE, _LAST_STAGE = 2, 4
#: Where a header may break: between words, and after ``_``, ``-`` or ``/`` inside one
#: (``easy_bugfix_`` / ``chunk_list``), never inside a run of letters.
_HEADER_PIECE = re.compile(r"[^\s_/-]*[_/-]+|[^\s_/-]+")


@dataclass(frozen=True)
class _Column:
    """What one console column needs, in terminal cells: ``want`` shows every cell whole
    (names up to :data:`._fmt.NAME_WIDTH`), ``floor`` the least its cells can take (numbers:
    ``want``; names: :data:`LABEL_MIN_WIDTH` or more; text: its longest word), ``piece`` its
    header's longest unbreakable piece and ``whole`` the header on one line."""

    kind: str  # "label", "number" or "text"
    want: int
    floor: int
    piece: int
    whole: int


def _cell_fit(text: str, width: int) -> str:
    """``text`` in at most ``width`` terminal cells: a longer text keeps its start and end
    around an ellipsis, as :func:`._fmt.shorten` does, but measured in cells (a CJK
    character takes two)."""
    from rich.cells import cell_len

    if width < 1:
        return ""
    if text.isascii():  # (one cell a character: one_line has escaped the control characters)
        return shorten(text, width)
    if cell_len(text) <= width:
        return text
    budget = {"head": (width - 1) * 2 // 3}
    budget["tail"] = width - 1 - budget["head"]
    ends = {}
    for end, chars in (("head", text), ("tail", reversed(text))):
        kept, used = [], 0
        for char in chars:
            used += cell_len(char)
            if used > budget[end]:
                break
            kept.append(char)
        ends[end] = "".join(kept if end == "head" else reversed(kept))
    return f"{ends['head']}…{ends['tail']}"


def _header_pieces(header: str) -> list[tuple[str, str]]:
    """The header's pieces, each with what joins it to the one before: a space between words,
    nothing after ``_``/``-``/``/`` inside a word."""
    return [(" " if k == 0 else "", piece) for word in header.split()
            for k, piece in enumerate(_HEADER_PIECE.findall(word))]


def _wrap_header(header: str, width: int) -> str:
    """The header in lines of at most ``width`` cells, broken only between pieces; a piece
    wider than the column is shortened with an ellipsis."""
    from rich.cells import cell_len

    lines, line = [], ""
    for joint, piece in _header_pieces(header):
        piece = _cell_fit(piece, width)
        joined = f"{line}{joint}{piece}" if line else piece
        if cell_len(joined) <= width:
            line = joined
        else:
            lines.append(line)
            line = piece
    return "\n".join([*lines, line])


def _label_floor(cells: list[str]) -> int:
    """The narrowest width, from :data:`LABEL_MIN_WIDTH`, at which the column's distinct
    names stay distinct once shortened (two names alike in their start and end need more)."""
    from rich.cells import cell_len

    distinct = set(cells)
    longest = max(map(cell_len, distinct), default=0)
    for width in range(min(LABEL_MIN_WIDTH, longest), longest):
        if len({_cell_fit(name, width) for name in distinct}) == len(distinct):
            return width
    return longest


def _column(header: str, cells: list[str], kind: str) -> _Column:
    from rich.cells import cell_len

    pieces = [cell_len(piece) for _, piece in _header_pieces(header)] or [0]
    longest = max(map(cell_len, cells), default=0)
    if kind == "label":
        floor = _label_floor(cells)
        want = max(floor, min(longest, NAME_WIDTH))
    elif kind == "text":
        want = longest
        floor = max((cell_len(word) for cell in cells for word in cell.split()), default=0)
    else:
        want = floor = longest
    return _Column(kind, max(want, 1), max(floor, 1), max(pieces), cell_len(header))


def _lower(widths: list[int], floors: list[int], excess: int) -> int:
    """Take up to ``excess`` cells from the columns above their floors, the widest first (so
    two long names lose alike); returns the excess left."""
    while excess > 0:
        room = [i for i, (w, f) in enumerate(zip(widths, floors, strict=True)) if w > f]
        if not room:
            break
        widest = max(room, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    return excess


def _column_widths(columns: list[_Column], width: int, last_stage: int = _LAST_STAGE
                   ) -> list[int] | None:
    """Each column's width so that the table fits ``width`` with every number whole: headers
    whole where the room allows; as room runs out, the stages of :func:`_floor` up to
    ``last_stage``. None when the table does not fit even so."""
    budget = width - (3 * len(columns) + 1)  # (a space either side of each column, a gap)
    widths = [max(c.want, c.piece) for c in columns]
    excess = sum(widths) - budget
    if excess <= 0:  # room left: headers kept whole, those needing least first
        for i in sorted(range(len(columns)), key=lambda i: columns[i].whole - widths[i]):
            grow = max(0, min(-excess, columns[i].whole - widths[i]))
            widths[i] += grow
            excess += grow
        return widths
    for stage in range(1, last_stage + 1):
        excess = _lower(widths, [_floor(c, stage) for c in columns], excess)
        if excess <= 0:
            return widths
    return None


def _floor(column: _Column, stage: int) -> int:
    """The least width of ``column`` at ``stage``: 1, text wraps at words; 2, names are
    shortened to their floor (:data:`_SPLIT_STAGE`: past it the table is split instead);
    3, header pieces are shortened; 4, text folds inside words and names are shortened
    further. Numbers never go below their cells."""
    first = {"text": 1, "label": 2, "number": 3}[column.kind]
    if stage < first:
        return max(column.want, column.piece)
    piece = column.piece if stage < 3 else min(column.piece, _HEADER_MIN_WIDTH)
    cells = column.floor
    if stage == _LAST_STAGE and column.kind != "number":
        cells = min(cells, _TEXT_MIN_WIDTH if column.kind == "text" else _HEADER_MIN_WIDTH)
    return max(cells, piece)


def _console_cells(table: Table) -> tuple[list[str], list[list[str]], list[str]]:
    """Headers, columns of cells (one line each, control characters escaped) and each
    column's kind: ``label`` (the leading name columns), ``number`` or ``text``."""
    kinds = ["label" if i < table.label_columns else "number" if numeric else "text"
             for i, numeric in enumerate(table.numeric)]
    columns = [[one_line(row[i]) for row in table.rows] for i in range(len(table.headers))]
    return [one_line(h) for h in table.headers], columns, kinds


def _console_parts(table: Table, width: int) -> list[Table]:
    """The table as one or more tables that fit ``width`` with every number whole and names
    no shorter than their floor: when its columns cannot share the width, the columns after
    the names go into consecutive tables, each repeating the names ("continued")."""
    headers, cells, kinds = _console_cells(table)
    # A column's share of the width once narrowed as far as it goes before splitting, with
    # its padding and gap (3 cells; 1 more for the table's edge).
    sizes = [_floor(_column(*args), _SPLIT_STAGE) + 3
             for args in zip(headers, cells, kinds, strict=True)]
    labels = list(range(table.label_columns))
    room = width - 1 - sum(sizes[:table.label_columns])
    groups = _split_columns(sizes[table.label_columns:], room)
    return [Table(table.caption if k == 0 else f"{table.caption} (continued)",
                  tuple(table.headers[i] for i in [*labels, *group]),
                  tuple(tuple(row[i] for i in [*labels, *group]) for row in table.rows),
                  None, table.label_columns)
            for k, group in enumerate([table.label_columns + j for j in group]
                                      for group in groups)]


def _split_columns(sizes: list[int], room: int) -> list[list[int]]:
    """Positions 0 … n − 1 cut into the fewest consecutive groups whose sizes each add up to
    at most ``room`` (a larger column alone), as even as possible: the largest group as small
    as it can be (an uneven cut would print every row again for one column)."""
    parts, used = 1, 0
    for size in sizes:
        if used and used + size > room:
            parts, used = parts + 1, 0
        used += size
    total = list(accumulate(sizes, initial=0))
    n = len(sizes)

    @cache
    def best(start: int, parts: int) -> tuple[int, tuple[int, ...]]:
        """The largest group's size and the cuts after ``start``, in ``parts`` groups."""
        if parts == 1:
            return total[n] - total[start], (n,)
        return min((max(total[cut] - total[start], best(cut, parts - 1)[0]),
                    (cut, *best(cut, parts - 1)[1])) for cut in range(start + 1, n - parts + 2))

    return [list(range(a, b)) for a, b in pairwise((0, *best(0, parts)[1]))]


def print_table(console: Console, table: Table) -> None:
    """One table on the console (split into parts where its columns cannot share the width):
    names in the leading columns shortened with an ellipsis to their column, numbers
    right-justified and never wrapped or cut, text wrapped at words, headers broken between
    words or after ``_``; the note dimmed below."""
    from rich.text import Text

    parts = [(part, _part_widths(part, console.width))
             for part in _console_parts(table, console.width)]
    # Every part shortens a name alike (its narrowest): a name reads the same in each.
    labels = [min(w[i] for _, w in parts if w) for i in range(table.label_columns)] \
        if all(w for _, w in parts) else []
    for part, widths in parts:
        _print_part(console, part, widths and [*labels, *widths[len(labels):]])
    if table.note:
        console.print(Text(one_line(table.note), style="dim"))


def _part_widths(table: Table, width: int) -> list[int] | None:
    headers, cells, kinds = _console_cells(table)
    return _column_widths([_column(*args) for args in zip(headers, cells, kinds, strict=True)],
                          width)


def _print_part(console: Console, table: Table, fitted: list[int] | None) -> None:
    """One table (or part of one) at the column widths ``fitted``; None: rich's own fitting,
    which folds cells (only a table that cannot fit at all comes here)."""
    from rich import box
    from rich.table import Table as RichTable
    from rich.text import Text

    headers, cells, kinds = _console_cells(table)
    widths: list[int | None] = list(fitted) if fitted else [None] * len(headers)
    rich_table = RichTable(title=Text(one_line(table.caption)), box=box.SIMPLE,
                           header_style="bold")
    for header, kind, numeric, w in zip(headers, kinds, table.numeric, widths, strict=True):
        rich_table.add_column(Text(header if w is None else _wrap_header(header, w)),
                              justify="right" if numeric else "left", width=w,
                              no_wrap=kind != "text", overflow="fold" if w is None or
                              kind == "text" else "ellipsis")
    for row in zip(*cells, strict=True):
        rich_table.add_row(*(Text(_cell_fit(cell, w) if kind == "label" and w else cell)
                             for cell, kind, w in zip(row, kinds, widths, strict=True)))
    console.print(rich_table)


def print_console(document: dict[str, Any], console: Console | None = None) -> None:
    """Print the leaderboard and findings as rich tables and panels.

    Every text from the data (names, and sentences holding them) is printed as a rich ``Text``,
    never read as console markup (``[red]x`` shows as typed), on one line, control characters
    escaped. Tables fit the console's width with every number whole: names in the leading
    columns are shortened with an ellipsis to at most :data:`._fmt.NAME_WIDTH` characters
    (fewer where the width needs it, down to :data:`LABEL_MIN_WIDTH` or as many as keep the
    names apart), headers break between words or after ``_``, and a table whose columns still
    do not fit goes on in a "continued" table that repeats the names.
    """
    from rich.console import Console
    from rich.panel import Panel
    from rich.text import Text

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # rich would exit with status 1; a reader that stopped reading (`| head -1`) is
            # the caller's to judge, as with print(): the command ends quietly with 0.
            self.quiet = True
            raise BrokenPipeError(errno.EPIPE, "the reader of the output has gone")

    if console is None:
        console = _Console()
        if not console.is_terminal:
            console.width = 120  # piped output: wide enough for task names, still readable

    def text(value: str, style: str = "") -> Text:
        return Text(one_line(value), style=style)

    def show(table: Table) -> None:
        print_table(console, table)

    ds = document["dataset"]
    console.rule(Text(f"{display_name(ds['name'])}: findings", style="bold blue"))
    console.print(Text.assemble(
        "Data set ", (display_name(ds["name"]), "bold"),
        f": {ds['n_models']} models, {ds['n_tasks']} tasks, {ds['n_rows']} result rows",
        one_line(runs_phrase(document))))
    show(leaderboard_table(document))
    for part in uncertainty_tables(document):
        if isinstance(part, Table):
            show(part)
        else:
            console.print(text(part.text, "dim"))
    if document.get("caveats"):
        console.print(Text("\nCaveats", style="bold"))
        for sentence in document["caveats"]:
            console.print(text(f"- {sentence}"))
    for i, finding in enumerate(document["findings"], 1):
        style = _VERDICT_STYLE.get(finding["verdict"], "white")
        console.print()
        console.print(text(f"Finding {i}: {finding['title']}", "bold"))
        label = "Describes" if claim_label(finding).startswith("Described") else "Claim"
        console.print(text(f"{label}: {finding['claim']}", "italic"))
        for table in evidence_tables(finding):
            show(table)
        console.print(Panel(text(finding["text"]), border_style=style,
                            title=f"verdict: {finding['verdict'].replace('_', ' ')}"))
