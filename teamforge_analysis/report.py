"""Renderers: the JSON document (the contract), markdown, and the rich console summary.

Data flows one way: :func:`build_document` turns the dataset, leaderboard and findings into one
JSON-ready dict; every renderer reads only that dict, so the console, markdown and JSON cannot
disagree.
"""

from __future__ import annotations

import errno
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _fmt as fmt
from ._checks import require_count
from ._fmt import display_name, one_line
from .findings import Finding, score_label
from .io import Dataset
from .methods import methods_markdown
from .scoring import LEVEL_PREFIX, MAX_TASK_COLUMNS, TASK_PREFIX

if TYPE_CHECKING:  # rich is imported only when the console is used
    from rich.console import Console

    from .uncertainty import LeaderboardUncertainty

__all__ = [
    "MAX_TABLE_MODELS",
    "MAX_TABLE_ROWS",
    "Note",
    "Table",
    "build_document",
    "caveats_note",
    "evidence_or_reason",
    "evidence_tables",
    "frame_table",
    "has_runs",
    "leaderboard_table",
    "print_console",
    "runs_phrase",
    "settle_table",
    "to_json",
    "to_markdown",
    "uncertainty_tables",
    "verdicts_table",
]

#: Console and markdown tables list every model, up to this many (the best by score); the JSON
#: document keeps every model.
MAX_TABLE_MODELS = 1000
#: Other long tables (runs, episodes, flagged rows) show this many rows, then say where the
#: rest is.
MAX_TABLE_ROWS = 60



@dataclass(frozen=True)
class Table:
    """A renderer-neutral table of already formatted cells."""

    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str | None = None
    label_columns: int = 1  # leading columns of names, never wrapped

    def to_markdown(self) -> str:
        """The table as markdown: caption in bold, a pipe table, the note in italics."""
        return "\n".join(_md_table(self))

    def _repr_markdown_(self) -> str:
        # Jupyter displays a Table as markdown (and nbconvert exports it as a markdown table).
        return self.to_markdown()


@dataclass(frozen=True)
class Note:
    """A sentence shown where a table would be (in italics in markdown)."""

    text: str

    def to_markdown(self) -> str:
        return f"_{_md_text(self.text)}_\n"

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def _format_cells(column: pd.Series, digits: int) -> list[str]:
    """Display text for every cell of one column: numbers with trailing zeros dropped."""
    def cell(value: Any) -> str:
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        if isinstance(value, bool | np.bool_):
            return "yes" if value else "no"
        if isinstance(value, int | float | np.integer | np.floating):
            return fmt.short(float(value), digits)
        return str(value)

    return [cell(value) for value in column.tolist()]


def frame_table(frame: pd.DataFrame, caption: str, *, digits: int = 3,
                max_rows: int = MAX_TABLE_ROWS, note: str | None = None,
                source: str | None = None) -> Table:
    """Show a DataFrame as a :class:`Table` (markdown in Jupyter, like the report's tables).

    Parameters
    ----------
    frame
        Any DataFrame; a named index becomes the leading column(s).
    caption
        The table's caption.
    digits
        Decimals kept for numbers (trailing zeros are dropped: ``0.62``, ``18``, ``46.7``).
    max_rows
        At most this many rows are shown; the note says how many more there are.
    source
        The call that returns the whole frame, named in the note when rows are left out.
    note
        Text shown under the table; for a frame with no rows it defaults to ``No rows.``

    Returns
    -------
    Table
        Missing values show as ``n/a`` and booleans as ``yes``/``no``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"model": ["a", "b"], "score": [0.5, None], "passed": [True, False]})
    >>> print(frame_table(frame, "Scores").to_markdown())
    **Scores**
    <BLANKLINE>
    | model | score | passed |
    |---|---|---|
    | a | 0.5 | yes |
    | b | n/a | no |
    <BLANKLINE>
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame, not {type(frame).__name__}")
    require_count("digits", digits)
    require_count("max_rows", max_rows)
    if any(name is not None for name in frame.index.names):
        frame = frame.reset_index()
    shown = frame.head(max_rows)
    cells = [_format_cells(shown.iloc[:, i], digits) for i in range(shown.shape[1])]
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


def settle_table(document: dict[str, Any]) -> Table:
    """What data would settle each inferential finding: the unit its rule counts, how many the
    data have, the fewest with which the rule could decide at all, and (approximately) how many
    would give 80% power at the observed effect."""
    rows = []
    for finding in document["findings"]:
        settle = (finding.get("statistics") or {}).get("settle")
        if not settle:
            continue
        rows.append((finding["id"], settle["unit"], _opt(settle["n_observed"]),
                     _opt(settle["min_n_attainable"]), _opt(settle["n_for_80_power"]),
                     settle["method"] or settle["reason"] or ""))
    return Table("What data would settle each claim",
                 ("Finding", "Unit", "In these data", "Fewest to decide at all",
                  "For 80% power", "How"), tuple(rows),
                 None if rows else "No inferential finding is computable on these data.",
                 label_columns=2)


def verdicts_table(document: dict[str, Any]) -> Table:
    """One row per finding of the JSON document: id, title, verdict and the reason for it."""
    rows = tuple(
        (f["id"], f["title"], f["verdict"].replace("_", " "), f["verdict_reason"])
        for f in document["findings"]
    )
    return Table("Findings and their verdicts", ("Finding", "Title", "Verdict", "Why"), rows,
                 label_columns=2)


# ----------------------------------------------------------------------------------------------
# The document
# ----------------------------------------------------------------------------------------------
def _clean(value: Any) -> Any:
    """Plain Python values for JSON: NaN/NA become None, numpy scalars become Python ones."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def build_document(dataset: Dataset, board: pd.DataFrame, findings: Sequence[Finding],
                   uncertainty: LeaderboardUncertainty | None = None,
                   caveats: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON document: dataset summary, full leaderboard, every finding.

    Numbers are unrounded; undefined values are None. No absolute path appears.
    """
    tasks = list(dataset.tasks["task"])
    records = board.to_dict(orient="records")
    leaderboard = [
        {
            "rank": row["rank"],
            "model": row["model"],
            "teamforge_score": row["teamforge_score"],
            "teamforge_score_mean": row["teamforge_score_mean"],
            "teamforge_score_best": row["teamforge_score_best"],
            "teamforge_score_se": row["teamforge_score_se"],
            "runs": row["runs"],
            "scores": {t: row[TASK_PREFIX + t] for t in tasks},
            "level_scores": {lvl: row[LEVEL_PREFIX + lvl] for lvl in dataset.levels},
            "tasks_passed": row["tasks_passed"],
            "missing_tasks": list(row["missing_tasks"]),
        }
        for row in records
    ]
    document = {
        "dataset": {
            "name": dataset.name,
            "score_label": score_label(dataset),
            "levels": list(dataset.levels),
            "equal_weights": bool(dataset.equal_weights),
            "n_models": int(dataset.results["model"].nunique()),
            "n_tasks": len(tasks),
            "n_rows": len(dataset.runs) if dataset.runs is not None else len(dataset.results),
            "n_cells": len(dataset.results),
            "aggregate": dataset.aggregate,
            "n_step_rows": None if dataset.steps is None else len(dataset.steps),
            "files": dict(dataset.files),
        },
        "leaderboard": leaderboard,
        "leaderboard_uncertainty": None if uncertainty is None else uncertainty.to_dict(),
        "caveats": list(caveats),
        "findings": [f.to_dict() for f in findings],
    }
    return _clean(document)


def to_json(document: dict[str, Any]) -> str:
    """Stable JSON text (insertion key order, no NaN, trailing newline).

    The document is expected cleaned (:func:`build_document`: undefined values are None);
    ``allow_nan=False`` is a guard: a NaN or infinity left in it raises instead of being
    written as the non-standard ``NaN``.
    """
    return json.dumps(document, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


# ----------------------------------------------------------------------------------------------
# Tables shared by markdown and console
# ----------------------------------------------------------------------------------------------
def _opt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    return fmt.num(float(value), digits)


def has_runs(document: dict[str, Any]) -> bool:
    """Whether some model has more than one run of a task (then run columns are shown)."""
    return any((row.get("runs") or 1) > 1 for row in document["leaderboard"])


def _mean_and_interval(mean: float | None, interval: Sequence[float] | None) -> str:
    """``0.846 (0.770 to 0.923)``: the mean of runs with its run-noise interval."""
    if mean is None:
        return "n/a"
    return f"{fmt.num(mean, 3)} ({_interval(interval, 3) if interval else 'n/a'})"


def _run_intervals(document: dict[str, Any]) -> dict[str, Sequence[float] | None]:
    """Each model's run-noise 95% interval (Welch-Satterthwaite t), by model."""
    section = document.get("leaderboard_uncertainty") or {"models": []}
    return {m["model"]: m["run_se_ci95"] for m in section["models"]}


def _inflation(row: dict[str, Any]) -> str:
    best, mean = row.get("teamforge_score_best"), row.get("teamforge_score_mean")
    if best is None or mean is None:
        return "n/a"
    return f"+{fmt.num(best - mean, 3)}"


def leaderboard_table(document: dict[str, Any]) -> Table:
    """The leaderboard, best first: every model (up to :data:`MAX_TABLE_MODELS`); with more
    than :data:`.scoring.MAX_TASK_COLUMNS` tasks, one column per level instead of per task.

    With repeated runs it also shows the mean over runs with its run-noise 95% interval (a
    t interval with Welch-Satterthwaite degrees of freedom), the best-of-N score and the
    inflation best-of-N adds to the mean.
    """
    board = document["leaderboard"]
    label = document["dataset"].get("score_label", "weighted score")
    tasks = list(board[0]["scores"]) if board else []
    by_level = len(tasks) > MAX_TASK_COLUMNS
    # (many tasks: one column per level, the model's weighted score on the level)
    parts, key = ((list(board[0]["level_scores"]) if board else []), "level_scores") \
        if by_level else (tasks, "scores")
    shown = board[:MAX_TABLE_MODELS]
    runs = has_runs(document)
    run_intervals = _run_intervals(document)
    rows = tuple(
        (
            _opt(row["rank"]),
            row["model"],
            _opt(row["teamforge_score"]),
            *((_mean_and_interval(row["teamforge_score_mean"],
                                  run_intervals.get(row["model"])),
               _opt(row["teamforge_score_best"]), _inflation(row), _opt(row["runs"]))
              if runs else ()),
            *(_opt(row[key][part]) for part in parts),
            _opt(row["tasks_passed"]),
        )
        for row in shown
    )
    left_out = len(board) - len(shown)
    note = f"{left_out} more models are in findings.json." if left_out else None
    if by_level:
        extra = (f"{len(tasks)} tasks: one column per level, the model's score on the level "
                 "(weighted mean over its tasks); task scores are in findings.json.")
        note = f"{note} {extra}" if note else extra
    missing = [r["model"] for r in shown if r["missing_tasks"]]
    if missing:
        extra = f"Score n/a: missing tasks for {fmt.names(missing, at_most=8)}."
        note = f"{note} {extra}" if note else extra
    run_headers: tuple[str, ...] = ()
    if runs:
        aggregate = document["dataset"].get("aggregate", "mean")
        run_headers = ("Mean of runs (95% CI)", "Best of N", "Inflation", "Runs")
        extra = (f"{label} and task scores: the {aggregate} of each cell's runs. Mean of "
                 "runs: with its run-noise 95% t interval, Welch-Satterthwaite degrees of "
                 "freedom (n/a when a cell has one run). Inflation: best of N minus mean. "
                 "Runs: the fewest runs of any of the model's tasks.")
        note = f"{note} {extra}" if note else extra
    return Table("Leaderboard",
                 ("Rank", "Model", label, *run_headers, *parts, "Tasks passed"),
                 rows, note, label_columns=2)


@dataclass(frozen=True)
class Bullets:
    """A bulleted list of sentences (markdown in Jupyter)."""

    items: tuple[str, ...]

    def to_markdown(self) -> str:
        return "".join(f"- {_md_text(item)}\n" for item in self.items)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def caveats_note(document: dict[str, Any]) -> Bullets:
    """The data's caveats (:func:`.caveats.caveats`) as a bulleted list."""
    return Bullets(tuple(document.get("caveats") or ()))


def uncertainty_tables(document: dict[str, Any]) -> list[Table | Note]:
    """The leaderboard's uncertainty: score and rank intervals per model, then the paired
    comparisons; a note in words where no interval can be estimated."""
    section = document.get("leaderboard_uncertainty")
    if not section:
        return []
    out: list[Table | Note] = []
    if section["ci_method"] is None:
        out.append(Note(f"{_capitalised(section['reason'])}."))
    models = section["models"]
    if section["ci_method"] is not None:
        resampled = {"tasks": "tasks within levels", "runs": "runs within cells"}
        out.append(Table(
            "Score and rank intervals (95%)",
            ("Model", "Score", "95% CI", "Rank", "Rank 95% CI", "Run-noise 95% CI"),
            tuple((m["model"], _opt(m["score"]), _interval(m["ci95"], 3), _opt(m["rank"]),
                   _rank_interval(m["rank_ci95"]), _interval(m["run_se_ci95"], 3))
                  for m in models[:MAX_TABLE_MODELS]),
            f"{_capitalised(section['method'])}, {section['resamples']} resamples of "
            f"{resampled.get(section['ci_method'], section['ci_method'])} (seed "
            f"{section['seed']}); run noise: mean of runs with a Welch-Satterthwaite t "
            "interval." + (f" {_capitalised(section['reason'])}." if section["reason"] else ""),
            label_columns=1))
    pairs = section["pairs"]
    if pairs:
        order = {"score": "adjacent in the ranking",
                 "score_on_common_tasks": "adjacent by score on the tasks every model has",
                 "name": "ordered by name (no task is common to every model)"}
        out.append(Table(
            "Paired comparisons (difference of weighted scores on shared tasks)",
            ("Ahead", "Behind", "Tasks", "Difference", "95% CI", "p", "Holm p", "Verdict",
             "Tasks for 80% power"),
            tuple((c["model_a"], c["model_b"], _opt(c["n_tasks"]), _opt(c["difference"]),
                   _interval(c["ci95"], 3), _p(c["p_value"]), _p(c["p_holm"]),
                   c["verdict"] or "n/a", _opt(c["tasks_for_80_power"]))
                  for c in pairs[:MAX_TABLE_ROWS]),
            f"Pairs {order.get(section.get('pair_order', 'score'), 'as listed')}; p from a "
            "paired sign-flip permutation of per-task weighted differences, Holm-adjusted "
            "across these pairs; 'ahead' iff the Holm p < 0.05. The intervals are not "
            "adjusted. Tasks for 80% power: approximate, at the observed per-task difference."
            + _too_few_tasks(pairs)
            + "".join(f" The unadjusted interval of {c['model_a']} - {c['model_b']} excludes "
                      "0, but the Holm-adjusted test does not reject."
                      for c in pairs[:MAX_TABLE_ROWS] if _excludes_zero_unadjusted(c))
            + (f" {len(pairs) - MAX_TABLE_ROWS} more pairs are in findings.json."
               if len(pairs) > MAX_TABLE_ROWS else ""),
            label_columns=2))
    return out


def _too_few_tasks(pairs: list[dict[str, Any]]) -> str:
    """A sentence when some pair shares too few tasks for the Holm-adjusted sign-flip test
    ever to reach 0.05 (its floor: the number of pairs × 2 / 2ⁿ)."""
    fewest = min(c["n_tasks"] for c in pairs)
    floor = min(1.0, len(pairs) * 2 / 2**fewest) if fewest else 1.0
    if fewest == 0 or floor < 0.05:
        return ""
    return (f" With {fewest} shared task{'s' if fewest != 1 else ''} and {len(pairs)} "
            f"pair{'s' if len(pairs) != 1 else ''}, the smallest Holm-adjusted p the sign-flip "
            f"test can give is {fmt.short(floor, 3)}, so no such pair can be "
            "'ahead' whatever the scores.")


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _excludes_zero_unadjusted(pair: dict[str, Any]) -> bool:
    interval = pair["ci95"]
    return (pair["verdict"] == "indistinguishable" and interval is not None
            and (interval[0] > 0 or interval[1] < 0))


def _rank_interval(interval: Sequence[int] | None) -> str:
    if interval is None:
        return "n/a"
    low, high = interval
    return str(low) if low == high else f"{low} to {high}"


def _interval(interval: Sequence[float] | None, digits: int = 2) -> str:
    return fmt.ci(interval, digits).removeprefix("95% CI ") if interval else "n/a"


def _p(p: float | None) -> str:
    return fmt.pval(p).removeprefix("p ").removeprefix("= ") if p is not None else "n/a"


_CORR_HEADERS = ("", "n", "r", "95% CI", "p", "permutation p", "Spearman rho", "Kendall tau",
                 "min. detectable |r| (parametric)")


def _corr_row(label: str, corr: dict[str, Any] | None) -> tuple[str, ...]:
    corr = corr or {}
    return (
        label,
        _opt(corr.get("n")),
        _opt(corr.get("r")),
        _interval(corr.get("ci95")),
        _p(corr.get("p_value")),
        _p(corr.get("p_permutation")),
        _opt(corr.get("spearman_rho")),
        _opt(corr.get("kendall_tau")),
        _opt(corr.get("min_detectable_r")),
    )


def _r_and_p(corr: dict[str, Any]) -> str:
    """``0.73 (0.333)``: r with the p the verdict rules use (permutation where computed)."""
    p = corr["p_permutation"] if corr["p_permutation"] is not None else corr["p_value"]
    return f"{_opt(corr['r'])} ({_p(p)})"


def _more_note(total: int, shown: int) -> str | None:
    return f"{total - shown} more models are in findings.json." if total > shown else None


def _more_rows_note(total: int, statistic: str) -> str | None:
    if total <= MAX_TABLE_ROWS:
        return None
    return (f"{total - MAX_TABLE_ROWS} more rows: all {total} are in findings.json "
            f"(statistics.{statistic}).")


def _scale_tables(stats: dict[str, Any]) -> list[Table]:
    rows = [_corr_row(level, c) for level, c in reversed(stats["by_difficulty"].items())]
    tables = [Table(f"Correlation of {stats['size_column']} with mean score, by difficulty",
                    _CORR_HEADERS, tuple(rows))]
    diff = stats.get("hard_minus_easy")
    if diff:
        label = f"r({stats['hardest']}) - r({stats['easiest']})"
        tables.append(Table(
            "Difference of correlations (Zou 2007)",
            ("", "n", "difference", "95% CI"),
            ((label, _opt(diff["n"]), _opt(diff["difference"]), _interval(diff["ci95"])),),
            diff.get("reason"),
        ))
    leave_out = stats.get("leave_one_out") or []
    if leave_out:
        tables.append(Table(
            f"Leaving out one model: r at the {stats['hardest']} level without it",
            ("Left out", "n", "r", "p", "Hardest-level test then"),
            tuple((row["left_out"], _opt(row["n"]), _opt(row["r"]), _p(row["p_value"]),
                   row["verdict_without"].replace("_", " "))
                  for row in leave_out[:MAX_TABLE_ROWS]),
            _more_rows_note(len(leave_out), "leave_one_out")))
    concordance = stats.get("rank_concordance")
    if concordance:
        tables.append(Table(
            "Do the levels rank the models alike? (Kendall's W)",
            ("models", "levels", "W", "p", "method"),
            ((_opt(concordance["n_items"]), _opt(concordance["n_raters"]),
              _opt(concordance["w"]), _p(concordance["p_value"]), concordance["method"] or "n/a"),),
            concordance.get("reason")))
    sensitivity = stats.get("sensitivity") or {}
    if sensitivity:
        levels = list(next(iter(sensitivity.values())))
        tables.append(Table(
            "Sensitivity to the size measure: r (p used by the verdict) by difficulty",
            ("Size measure", *levels, "Verdict"),
            tuple(
                (name, *(_r_and_p(corrs[lvl]) for lvl in levels),
                 stats["sensitivity_verdicts"][name].replace("_", " "))
                for name, corrs in sensitivity.items()
            ),
        ))
    return tables


def _step_tables(stats: dict[str, Any]) -> list[Table]:
    by_model = stats["by_model"]
    levels = list(stats["mean_steps"])
    items = list(by_model.items())
    shown = items[:MAX_TABLE_MODELS]
    rows = tuple(
        (m, *(fmt.short(v[lvl], 2) for lvl in levels), _opt(v["degradation_pct"], 1))
        for m, v in shown
    )
    rows += (("mean", *(fmt.short(stats["mean_steps"][lvl], 2) for lvl in levels), ""),)
    note = (f"Hardest vs easiest, %: (mean steps at {levels[-1]} - at {levels[0]}) / at "
            f"{levels[0]} x 100." if levels else None)
    more = _more_note(len(items), len(shown))
    tables = [Table("Mean steps per difficulty", ("Model", *levels, "Hardest vs easiest, %"),
                    rows, f"{note} {more}" if more else note)]
    effect = stats.get("effect")
    if effect:
        tables.append(Table(
            "Effect: d = (increase between the two easiest levels) - (between the two hardest)",
            ("n", "mean d", "95% t-interval", "median d"),
            ((_opt(effect["n"]), _opt(effect["mean_d"], 2), _interval(effect["ci95"]),
              _opt(effect["median_d"], 2)),),
            effect.get("reason")))
    test = stats.get("paired_test")
    if test:
        tables.append(Table(
            "Wilcoxon signed-rank test of d (two-sided)",
            ("n", "models with d > 0", "median d", "statistic", "p", "min. attainable p",
             "method"),
            ((_opt(test["n"]), str(len(test["holds_for"])), _opt(test["median_difference"], 2),
              _opt(test["statistic"], 1), _p(test["p_value"]), _p(test["min_attainable_p"]),
              test["method"] or "n/a"),),
            test.get("reason"),
        ))
    return tables


def _test_pass_tables(stats: dict[str, Any]) -> list[Table]:
    beyond = stats["beyond_construction"]
    tables_first = [Table(
        "Beyond construction: partial correlation with test_pass, model and task fixed effects",
        ("outcome", "n", "k", "dof", "r", "95% CI", "p", "near-perfect: r at least"),
        ((beyond["outcome"], _opt(beyond["n"]), _opt(beyond["k"]), _opt(beyond["dof"]),
          _opt(beyond["r"]), _interval(beyond["ci95"]), _p(beyond["p_value"]),
          fmt.short(stats["near_perfect_r"])),),
        beyond.get("reason"))]
    rows = [_corr_row("pooled over cells", stats["pooled"])]
    within = list((stats.get("within_task") or {}).items())
    rows += [_corr_row(f"within {task}", c) for task, c in within[:MAX_TABLE_ROWS]]
    note = (f"{len(within) - MAX_TABLE_ROWS} more tasks are in findings.json "
            "(statistics.within_task)." if len(within) > MAX_TABLE_ROWS else None)
    if stats.get("construction_r") is not None:
        extra = (f"The formula alone would give a pooled r of about "
                 f"{fmt.num(stats['construction_r'])}.")
        note = f"{note} {extra}" if note else extra
    tables = [*tables_first,
              Table("Correlation of test_pass with score", _CORR_HEADERS, tuple(rows), note)]
    rm = stats.get("repeated_measures")
    if rm:
        tables.append(Table(
            "Repeated-measures correlation, subject = task (Bakdash & Marusich 2017; ignores "
            "the crossed model factor)",
            ("n", "tasks", "r", "dof", "95% CI", "p"),
            ((_opt(rm["n"]), _opt(rm["subjects"]), _opt(rm["r"]), _opt(rm["dof"]),
              _interval(rm["ci95"]), _p(rm["p_value"])),),
            rm.get("reason"),
        ))
    return tables


def _boundary_tables(stats: dict[str, Any]) -> list[Table]:
    items = list(stats["passed"].items())
    shown = items[:MAX_TABLE_MODELS]
    rows = tuple((m, _opt(p)) for m, p in shown)
    tables = [Table(f"Passed the {stats['hardest_level']} level", ("Model", "Passed"),
                    rows, _more_note(len(items), len(shown)))]
    test = stats["size_test"]
    tables.append(Table(
        "Do passing models differ in size from failing ones? (Mann-Whitney U, two-sided)",
        ("passing", "failing", "U", "p", "min. attainable p", "separated", "direction",
         "method"),
        ((_opt(test["n_passing"]), _opt(test["n_failing"]), _opt(test["statistic"], 1),
          _p(test["p_value"]), _p(test["min_attainable_p"]), _opt(test["separated"]),
          test["direction"] or "n/a", test["method"] or "n/a"),),
        test.get("reason"),
    ))
    flags = stats["inconsistent_flags"]
    if flags:
        tables.append(Table(
            "Rows whose passed flag disagrees with score >= threshold",
            ("Model", "Task", "Run", "Score", "Threshold", "Passed"),
            tuple((f["model"], f["task"], _opt(f.get("run")), _opt(f["score"]),
                   _opt(f["pass_threshold"]), _opt(f["passed"]))
                  for f in flags[:MAX_TABLE_ROWS]),
            _more_rows_note(len(flags), "inconsistent_flags"),
        ))
    return tables


_EVIDENCE = {
    "scale_vs_difficulty": _scale_tables,
    "step_efficiency": _step_tables,
    "test_pass_vs_score": _test_pass_tables,
    "hard_task_boundary": _boundary_tables,
}


def evidence_tables(finding: dict[str, Any]) -> list[Table]:
    """Formatted evidence tables for one finding (a dict from the JSON document)."""
    make = _EVIDENCE.get(finding["id"])
    # (a finding not computable for want of a measure has no statistics at all)
    return make(finding["statistics"]) if make and finding["statistics"] else []


def evidence_or_reason(finding: dict[str, Any]) -> list[Table | Note]:
    """The finding's evidence tables or, when it has none, a note saying why.

    A finding whose inputs are absent (no step log, no component columns) has no evidence
    tables; notebooks show this note under their statistics heading instead of nothing.

    Examples
    --------
    >>> finding = {"id": "reward_trajectories", "verdict": "not_computable",
    ...            "verdict_reason": "the data folder has no step log",
    ...            "statistics": {"by_difficulty": {}}}
    >>> print(evidence_or_reason(finding)[0].to_markdown())
    _No statistics: not computable, because the data folder has no step log._
    <BLANKLINE>
    """
    tables: list[Table | Note] = list(evidence_tables(finding))
    if tables:
        return tables
    verdict = finding["verdict"].replace("_", " ")
    return [Note(f"No statistics: {verdict}, because {finding['verdict_reason']}.")]


def _score_components_tables(stats: dict[str, Any]) -> list[Table]:
    by_model = stats.get("by_model")
    if not by_model:
        return []
    weights = stats["weights"]
    items = sorted(by_model.items(), key=lambda kv: (
        kv[1]["teamforge_score"] is None, -(kv[1]["teamforge_score"] or 0.0), kv[0]))
    shown = items[:MAX_TABLE_MODELS]
    tables = [Table(
        "Weighted score by grader component (grader weight x sum over tasks of task weight x "
        "component)",
        ("Model", "Weighted score", *(f"{c} ({w:.2f})" for c, w in weights.items()),
         "Residual"),
        tuple((m, _opt(v["teamforge_score"]), *(_opt(v[c]) for c in weights),
               _opt(v["residual"])) for m, v in shown),
        _more_note(len(items), len(shown)),
    )]
    mismatches = stats.get("mismatches") or []
    if mismatches:
        tables.append(Table(
            f"Rows whose score is more than {fmt.short(stats['tolerance'])} from the formula",
            ("Model", "Task", "Run", "Score", "Formula"),
            tuple((m["model"], m["task"], str(m["run"]), _opt(m["score"], 4),
                   _opt(m["recomputed"], 4)) for m in mismatches[:MAX_TABLE_ROWS]),
            _more_rows_note(len(mismatches), "mismatches"),
            label_columns=2,
        ))
    return tables


def _planning_depth_tables(stats: dict[str, Any]) -> list[Table]:
    if stats.get("depth_vs_score") is None:
        return []
    rows = [
        _corr_row("depth vs score", stats["depth_vs_score"]),
        _corr_row("depth vs passed (point-biserial)", stats["depth_vs_passed"]),
        *([_corr_row("depth vs passed, within model x task (the rule)",
                     {"n": s["n"], "r": s["r"], "p_permutation": s["p_value"]})]
          if (s := stats.get("stratified")) else []),
        *(_corr_row(f"depth vs score, {task}", c) for task, c in stats["within_task"].items()),
    ]
    return [Table(f"Correlation of planning depth with success ({stats['episodes']} episodes)",
                  _CORR_HEADERS, tuple(rows))]


def _reward_tables(stats: dict[str, Any]) -> list[Table]:
    levels = stats.get("by_difficulty") or {}
    if not levels:
        return []
    rows = tuple(
        (level, str(s["episodes"]), _opt(s["mean_total_reward"]), _opt(s["sd_total_reward"]),
         _opt(s["mean_reward_slope"]),
         "n/a" if s["declining_fraction"] is None
         else f"{fmt.short(100 * s['declining_fraction'], 0)}% of {s['episodes_with_slope']}",
         fmt.short(s["steps_to_first_full_pass"], 1) if s["steps_to_first_full_pass"] is not None
         else "n/a",
         str(s["episodes_with_full_pass"]))
        for level, s in levels.items()
    )
    note = None if stats.get("has_test_counts") else \
        "The step log has no test counts: first full pass unknown."
    return [Table("Reward per episode by difficulty",
                  ("Difficulty", "Episodes", "Mean total reward", "SD", "Mean slope",
                   "Declining", "First full pass (median step)", "Episodes reaching it"),
                  rows, note)]


#: Evidence tables of the findings from run-level results and step logs.
_EVIDENCE.update({
    "score_components": _score_components_tables,
    "planning_depth_vs_success": _planning_depth_tables,
    "reward_trajectories": _reward_tables,
})


def runs_phrase(document: dict[str, Any]) -> str:
    """`` (9 (model, task) cells, each the mean of its runs; 278 logged steps)``, or ``""``.

    Said after the number of result rows when some cell has several runs or there is a step
    log; empty otherwise.

    Examples
    --------
    >>> from teamforge_analysis import analyze
    >>> runs_phrase(analyze().document)  # the bundled data: one value per cell, no step log
    ''
    """
    ds = document["dataset"]
    parts = []
    if has_runs(document):
        n = ds["n_cells"]
        cells = "1 (model, task) cell, the" if n == 1 else f"{n} (model, task) cells, each the"
        parts.append(f"{cells} {ds['aggregate']} of its runs")
    if ds.get("n_step_rows") is not None:
        n = ds["n_step_rows"]
        parts.append(f"{n} logged step{'' if n == 1 else 's'}")
    return f" ({'; '.join(parts)})" if parts else ""


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


def _md_text(text: str) -> str:
    r"""``text`` (a name, or a sentence holding names) shown literally by a markdown renderer:
    on one line, markup characters escaped.

    Examples
    --------
    >>> print(_md_text(r"[red]x <script> $^$ a_b _key `c` \|"))
    \[red\]x &lt;script&gt; \$^\$ a_b \_key \`c\` \\|
    """
    text = _MD_PUNCTUATION.sub(lambda m: "\\" + m.group(), one_line(text))
    return _MD_ENTITIES.sub(lambda m: _ENTITY[m.group()], text)


def _md_paragraph(text: str) -> str:
    """:func:`_md_text` for a whole paragraph, whose first characters could also make it a
    heading or a list item (``# 1``, ``- x``, ``1. x``)."""
    return _MD_BLOCK_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}",
                               _md_text(text))


def _md_cell(text: str) -> str:
    """A table cell: :func:`_md_text`, and ``|`` escaped so that it cannot add a column."""
    return _md_text(text).replace("|", "\\|")


def _md_code(text: str) -> str:
    """``text`` as a code span: fenced by more backticks than it holds, padded where it
    starts or ends with a backtick or a space (which the renderer would otherwise eat)."""
    text = one_line(text)
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_table(table: Table) -> list[str]:
    lines = [f"**{_md_text(table.caption)}**", ""]
    lines.append("| " + " | ".join(_md_cell(h) for h in table.headers) + " |")
    lines.append("|" + "|".join("---" for _ in table.headers) + "|")
    lines.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows)
    if table.note:
        lines += ["", f"_{_md_text(table.note)}_"]
    lines.append("")
    return lines


#: Findings that describe the data and test no claim (verdict descriptive or not_computable).
DESCRIPTIVE_FINDINGS = frozenset({"score_components", "reward_trajectories"})


def _claim_label(finding: dict[str, Any]) -> str:
    if finding["verdict"] == "descriptive" or finding["id"] in DESCRIPTIVE_FINDINGS:
        return "Described (no claim is tested)"
    return "Claim tested"


def to_markdown(document: dict[str, Any]) -> str:
    """``results/findings.md``: leaderboard, then each finding's claim, evidence and verdict."""
    ds = document["dataset"]
    lines = [
        f"# {_md_text(ds['name'])}: findings",
        "",
        f"Data set {_md_code(ds['name'])}: {ds['n_models']} models, {ds['n_tasks']} tasks, "
        f"{ds['n_rows']} result rows{runs_phrase(document)}. Generated by "
        "`teamforge-analysis`; every number below is computed from the data files.",
        "",
        "## Leaderboard",
        "",
        *_md_table(leaderboard_table(document)),
    ]
    if uncertainty := uncertainty_tables(document):
        lines += ["## Leaderboard uncertainty", ""]
        for part in uncertainty:
            lines += _md_table(part) if isinstance(part, Table) else [part.to_markdown()]
    if document.get("caveats"):
        lines += ["## Caveats", "", caveats_note(document).to_markdown()]
    for i, finding in enumerate(document["findings"], 1):
        lines += [
            f"## Finding {i}: {_md_text(finding['title'])}",
            "",
            f"> {_claim_label(finding)}: {_md_text(finding['claim'])}",
            "",
        ]
        for table in evidence_tables(finding):
            lines += _md_table(table)
        lines += [
            f"**Verdict: {finding['verdict'].replace('_', ' ')}**",
            "",
            _md_paragraph(finding["text"]),
            "",
        ]
    lines.append(methods_markdown(short=True, heading_level=2))
    return "\n".join(lines).rstrip("\n") + "\n"


# ----------------------------------------------------------------------------------------------
# Console
# ----------------------------------------------------------------------------------------------
_VERDICT_STYLE = {
    "supported": "green",
    "contradicted": "red",
    "inconclusive": "yellow",
    "not_computable": "dim",
    "descriptive": "blue",
}


def print_console(document: dict[str, Any], console: Console | None = None) -> None:
    """Print the leaderboard and findings as rich tables and panels.

    Every text from the data (names, and sentences holding them) is printed as a rich ``Text``,
    never read as console markup (``[red]x`` shows as typed), on one line, control characters
    escaped; names in the leading columns and headers are shortened to
    :data:`._fmt.NAME_WIDTH` characters with an ellipsis.
    """
    from rich import box
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table as RichTable
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
        rich_table = RichTable(title=text(table.caption), box=box.SIMPLE, header_style="bold")
        for i, header in enumerate(table.headers):
            if i < table.label_columns:
                rich_table.add_column(Text(display_name(header)), justify="left", no_wrap=True)
            else:
                rich_table.add_column(Text(display_name(header)), justify="right",
                                      overflow="fold")
        for row in table.rows:
            rich_table.add_row(*(Text(display_name(cell)) if i < table.label_columns
                                 else text(cell) for i, cell in enumerate(row)))
        console.print(rich_table)
        if table.note:
            console.print(text(table.note, "dim"))

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
        label = "Describes" if _claim_label(finding).startswith("Described") else "Claim"
        console.print(text(f"{label}: {finding['claim']}", "italic"))
        for table in evidence_tables(finding):
            show(table)
        console.print(Panel(text(finding["text"]), border_style=style,
                            title=f"verdict: {finding['verdict'].replace('_', ' ')}"))
