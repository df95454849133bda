"""How the library's objects show themselves in Jupyter: short one-line reprs and HTML.

An :class:`~teamforge_analysis.analysis.Analysis` shows its leaderboard and one line per
finding; a :class:`~teamforge_analysis.findings.Finding` its title, claim, evidence tables,
verdict and text; a :class:`~teamforge_analysis.dataset.Dataset` its counts, levels and files;
a statistics result its fields. Everything is built from the same tables as findings.md, and
every text from the data is HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from . import _fmt as fmt
from .report import (
    Note,
    Table,
    caveats_note,
    evidence_or_reason,
    leaderboard_table,
    uncertainty_tables,
    verdicts_table,
)

__all__ = ["analysis_html", "dataset_html", "finding_html", "one_line_repr", "result_html",
           "table_html"]

#: A one-line repr is cut to this many characters.
REPR_WIDTH = 160


def table_html(table: Table | Note) -> str:
    """A :class:`.report.Table` (or :class:`.report.Note`) as an HTML table, number columns
    right-aligned, names escaped."""
    if isinstance(table, Note):
        return f"<p><em>{html.escape(table.text)}</em></p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.headers)
    align = ["right" if numeric else "left" for numeric in table.numeric]
    body = "".join(
        "<tr>" + "".join(f'<td style="text-align:{side}">{html.escape(cell)}</td>'
                         for side, cell in zip(align, row, strict=True)) + "</tr>"
        for row in table.rows)
    note = f"<p><em>{html.escape(table.note)}</em></p>" if table.note else ""
    return (f"<p><strong>{html.escape(table.caption)}</strong></p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}")


def finding_html(finding: Mapping[str, Any]) -> str:
    """A finding (its JSON dict) as HTML: title, claim, evidence, verdict and text."""
    parts = [f"<h3>{html.escape(finding['title'])}</h3>",
             f"<p><em>Claim:</em> {html.escape(finding['claim'])}</p>"]
    parts += [table_html(part) for part in evidence_or_reason(dict(finding))]
    parts.append(f"<p><strong>Verdict: {html.escape(finding['verdict'].replace('_', ' '))}"
                 f"</strong> ({html.escape(finding['verdict_reason'])})</p>")
    parts.append(f"<p>{html.escape(finding['text'])}</p>")
    return f'<div class="teamforge-finding">{"".join(parts)}</div>'


def analysis_html(document: Mapping[str, Any]) -> str:
    """An analysis (its JSON document) as HTML: the data set, the leaderboard, its
    uncertainty, the caveats and one line per finding."""
    ds = document["dataset"]
    parts = [f"<h3>{html.escape(ds['name'])}</h3>",
             f"<p>{ds['n_models']} models, {ds['n_tasks']} tasks, {ds['n_rows']} result rows"
             "</p>", table_html(leaderboard_table(dict(document)))]
    parts += [table_html(part) for part in uncertainty_tables(dict(document))]
    caveats = caveats_note(dict(document)).items
    if caveats:
        parts.append("<p><strong>Caveats</strong></p><ul>"
                     + "".join(f"<li>{html.escape(c)}</li>" for c in caveats) + "</ul>")
    parts.append(table_html(verdicts_table(dict(document))))
    return f'<div class="teamforge-analysis">{"".join(parts)}</div>'


def dataset_html(name: str, counts: Mapping[str, int], levels: Sequence[tuple[str, int]],
                 files: Mapping[str, str]) -> str:
    """A data set's summary as HTML: its counts, levels (easiest first) and files."""
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td style=\"text-align:right\">{v}</td></tr>"
                   for k, v in counts.items())
    level_text = ", ".join(f"{html.escape(level)} ({n} task{'s' if n != 1 else ''})"
                           for level, n in levels)
    file_text = ", ".join(html.escape(f) for f in files) or "none (built from frames)"
    return (f'<div class="teamforge-dataset"><h3>{html.escape(name)}</h3>'
            f"<table><tbody>{rows}</tbody></table>"
            f"<p>Levels, easiest first: {level_text}</p><p>Files: {file_text}</p></div>")


def result_html(title: str, fields: Mapping[str, Any]) -> str:
    """A statistics result's fields as a two-column HTML table, each number by the precision
    rule of its kind (:data:`._fmt.RULE`), intervals as ``low to high``."""
    kinds = _field_kinds(fields)
    rows = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td style=\"text-align:right\">"
        f"{html.escape(_value(v, kinds.get(k)))}</td></tr>" for k, v in fields.items())
    return f"<p><strong>{html.escape(title)}</strong></p><table><tbody>{rows}</tbody></table>"


def one_line_repr(kind: str, items: Iterable[tuple[str, Any]]) -> str:
    """``Kind(key=value, ...)`` on one line, numbers rounded by the precision rule of their
    kind, at most :data:`REPR_WIDTH` characters."""
    items = list(items)
    kinds = _field_kinds(dict(items))
    text = f"{kind}(" + ", ".join(f"{k}={_value(v, kinds.get(k), quote=True)}"
                                  for k, v in items) + ")"
    return text if len(text) <= REPR_WIDTH else text[: REPR_WIDTH - 4] + "...)"


#: The kind of number of the statistics results' fields, by name (others: 4 significant
#: digits).
_KINDS: dict[str, fmt.Format] = {
    **dict.fromkeys(("p_value", "spearman_p", "p_permutation", "kendall_p",
                     "min_attainable_p"), fmt.p),
    **dict.fromkeys(("r", "spearman_rho", "kendall_tau", "w", "difference",
                     "min_detectable_r"), fmt.corr),
    **dict.fromkeys(("mean_d", "median_d", "median"), fmt.steps),
    "statistic": fmt.stat,
}


def _field_kinds(fields: Mapping[str, Any]) -> dict[str, fmt.Format]:
    # An interval is of the kind of the estimate it goes with: d's in steps, else r's.
    return {**_KINDS, "ci95": fmt.steps if "mean_d" in fields else fmt.corr}


def _value(value: Any, kind: fmt.Format | None = None, *, quote: bool = False) -> str:
    if value is None:
        return "None" if quote else "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return kind(value) if kind is not None else f"{value:.4g}"
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, (int, float)) for v in value):
        show = kind or fmt.given
        return f"[{show(float(value[0]))}, {show(float(value[1]))}]"
    if isinstance(value, str):
        return repr(fmt.one_line(value)) if quote else value
    return str(value)
