"""Renderers: the JSON document (the contract), markdown, and the rich console summary.

Data flows one way: :func:`build_document` turns the dataset, leaderboard and findings into one
JSON-ready dict; every renderer reads only that dict, so the console, markdown and JSON cannot
disagree.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import _fmt as fmt
from .dataset import Dataset
from .findings import REGISTRY, Finding, evidence, score_label
from .methods import methods_markdown
from .scoring import LEVEL_PREFIX, MAX_TASK_COLUMNS, TASK_PREFIX, tasks_by_level
from .tables import (
    MAX_TABLE_MODELS,
    MAX_TABLE_ROWS,
    Bullets,
    Note,
    Parts,
    Table,
    frame_table,
    md_code,
    md_paragraph,
    md_text,
    more_models_note,
)
from .uncertainty import PERMUTATION_EXACT_MAX_TASKS, PERMUTATION_RESAMPLES, smallest_holm_p

if TYPE_CHECKING:
    from .uncertainty import LeaderboardUncertainty

__all__ = [
    "MAX_TABLE_MODELS",
    "MAX_TABLE_ROWS",
    "Bullets",
    "Note",
    "Table",
    "build_document",
    "caveats_note",
    "claim_label",
    "data_tables",
    "evidence_or_reason",
    "evidence_tables",
    "frame_table",
    "has_runs",
    "leaderboard_table",
    "runs_phrase",
    "settle_table",
    "to_json",
    "to_markdown",
    "uncertainty_tables",
    "verdicts_table",
]


def data_tables(dataset: Dataset) -> Parts:
    """The data set's tasks, models and results as tables, tasks by level (easiest first)
    then name: in ``dataset`` they are sorted by name.

    Examples
    --------
    >>> from teamforge_analysis import load_dataset
    >>> tasks, models, results = data_tables(load_dataset())
    >>> [row[0] for row in tasks.rows]
    ['easy_bugfix_chunk_list', 'medium_refactor_stats', 'hard_lru_cache_performance']
    """
    position = {task: i for i, task in enumerate(tasks_by_level(dataset))}
    tasks = dataset.tasks.sort_values("task", key=lambda t: t.map(position), kind="stable")
    results = dataset.results.sort_values(
        ["model", "task"], key=lambda c: c.map(position) if c.name == "task" else c,
        kind="stable")
    return Parts((frame_table(tasks, "Tasks (tasks.csv)"),
                  frame_table(dataset.models, "Models (models.csv)"),
                  frame_table(results, "Results per model and task (results.csv)"
                              if not dataset.has_runs else "Results per model and task "
                              "(the runs of results.csv combined by "
                              f"{'their mean' if dataset.aggregate == 'mean' else 'the best'})",
                              source="result.dataset.results")))


def settle_table(document: dict[str, Any]) -> Table:
    """What data would settle each inferential finding: the unit its rule counts, how many the
    data have, the fewest with which the rule could decide at all, and (approximately) how many
    would give 80% power at the observed effect."""
    rows = []
    for finding in document["findings"]:
        settle = (finding.get("statistics") or {}).get("settle")
        if not settle:
            continue
        rows.append((finding["id"], settle["unit"], fmt.count(settle["n_observed"]),
                     fmt.count(settle["min_n_attainable"]), fmt.count(settle["n_for_80_power"]),
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
    tasks = [c.removeprefix(TASK_PREFIX) for c in board.columns if c.startswith(TASK_PREFIX)]
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


def has_runs(document: dict[str, Any]) -> bool:
    """Whether some model has more than one run of a task (then run columns are shown)."""
    return any((row.get("runs") or 1) > 1 for row in document["leaderboard"])


def _run_cells(row: dict[str, Any], bounds: Sequence[float] | None) -> tuple[str, ...]:
    """The mean of runs with its run-noise interval (``0.846 (0.770 to 0.923)``), the best of
    N, the inflation best of N adds to the mean and the fewest runs."""
    mean, best = row["teamforge_score_mean"], row["teamforge_score_best"]
    return ("n/a" if mean is None else f"{fmt.score(mean)} ({fmt.span(bounds, fmt.score)})",
            fmt.score(best), "n/a" if None in (mean, best) else f"+{fmt.score(best - mean)}",
            fmt.count(row["runs"]))


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
    section = document.get("leaderboard_uncertainty") or {"models": []}
    run_ci = {m["model"]: m["run_se_ci95"] for m in section["models"]}  # (run noise, 95%)
    rows = tuple((fmt.count(row["rank"]), row["model"], fmt.score(row["teamforge_score"]),
                  *(_run_cells(row, run_ci.get(row["model"])) if runs else ()),
                  *(fmt.score(row[key][part]) for part in parts),
                  fmt.count(row["tasks_passed"])) for row in shown)
    notes = [more_models_note(len(board), len(shown))]
    if by_level:
        notes.append(f"{len(tasks)} tasks: one column per level, the model's score on the "
                     "level (weighted mean over its tasks); task scores are in findings.json.")
    if missing := [r["model"] for r in shown if r["missing_tasks"]]:
        notes.append(f"Score n/a: missing tasks for {fmt.names(missing, at_most=8)}.")
    run_headers: tuple[str, ...] = ()
    if runs:
        run_headers = ("Mean of runs (95% CI)", "Best of N", "Inflation", "Runs")
        notes.append(f"{label} and task scores: the {document['dataset'].get('aggregate', 'mean')} "
                     "of each cell's runs. Mean of runs: with its run-noise 95% t interval, "
                     "Welch-Satterthwaite degrees of freedom (n/a when a cell has one run). "
                     "Inflation: best of N minus mean. Runs: the fewest runs of any of the "
                     "model's tasks.")
    return Table("Leaderboard",
                 ("Rank", "Model", label, *run_headers, *parts, "Tasks passed"),
                 rows, " ".join(n for n in notes if n) or None, label_columns=2)


def caveats_note(document: dict[str, Any]) -> Bullets:
    """The data's caveats (:func:`.caveats.caveats`) as a bulleted list."""
    return Bullets(tuple(document.get("caveats") or ()))


def uncertainty_tables(document: dict[str, Any]) -> Parts:
    """The leaderboard's uncertainty: score and rank intervals per model, then the paired
    comparisons; a note in words where no interval can be estimated."""
    section = document.get("leaderboard_uncertainty")
    if not section:
        return Parts(())
    out: list[Table | Note] = []
    models = section["models"]
    if section["ci_method"] is None:
        out.append(Note(f"{_capitalised(section['reason'])}."))
    else:
        resampled = {"tasks": "tasks within levels", "runs": "runs within cells"}
        out.append(Table(
            "Score and rank intervals (95%)",
            ("Model", "Score", "95% CI", "Rank", "Rank 95% CI", "Run-noise 95% CI"),
            tuple((m["model"], fmt.score(m["score"]), fmt.span(m["ci95"], fmt.score),
                   fmt.count(m["rank"]), _rank_interval(m["rank_ci95"]),
                   fmt.span(m["run_se_ci95"], fmt.score))
                  for m in models[:MAX_TABLE_MODELS]),
            f"{_capitalised(section['method'])}, {section['resamples']} resamples of "
            f"{resampled.get(section['ci_method'], section['ci_method'])} (seed "
            f"{section['seed']}); run noise: mean of runs with a Welch-Satterthwaite t "
            "interval." + (f" {_capitalised(section['reason'])}." if section["reason"] else ""),
            label_columns=1))
    if section["pairs"]:
        out.append(_pairs_table(section))
    return Parts(out)


#: How the models were ordered for choosing and listing the pairs (the section's pair_order):
#: adjacent pairs, then all pairs.
_PAIR_ORDER = {
    "score": ("Pairs adjacent in the ranking", "in ranking order"),
    "score_on_common_tasks": ("Pairs adjacent by score on the tasks every model has",
                              "by score on the tasks every model has"),
    "name": ("Pairs adjacent by name (no task is common to every model)",
             "by name (no task is common to every model)"),
}


def _pairs_table(section: dict[str, Any]) -> Table:
    """The paired comparisons, at most :data:`MAX_TABLE_ROWS` of them, with a note saying
    which pairs were compared (``pair_selection``) and across how many Holm adjusted."""
    pairs = section["pairs"]
    return Table(
        "Paired comparisons (difference of weighted scores on shared tasks)",
        ("Ahead", "Behind", "Tasks", "Difference", "95% CI", "p", "Holm p", "Verdict",
         "Tasks for 80% power"),
        tuple((c["model_a"], c["model_b"], fmt.count(c["n_tasks"]),
               fmt.score(c["difference"]), fmt.span(c["ci95"], fmt.score),
               fmt.p(c["p_value"]), fmt.p(c["p_holm"]), c["verdict"] or "n/a",
               fmt.count(c["tasks_for_80_power"]))
              for c in pairs[:MAX_TABLE_ROWS]),
        _pairs_note(section), label_columns=2)


def _pairs_note(section: dict[str, Any]) -> str:
    pairs = section["pairs"]
    adjacent, listed = _PAIR_ORDER[section["pair_order"]]
    tested = sum(c["p_value"] is not None for c in pairs)  # (Holm's family)
    chosen = (f"All {len(pairs)} pairs of models, listed {listed}"
              if section["pair_selection"] == "all" else adjacent)
    untested = len(pairs) - tested
    return (
        f"{chosen}; p from a paired sign-flip permutation of per-task weighted differences, "
        f"Holm-adjusted across the {_count(tested, 'pair')} compared"
        + (f" ({_count(untested, 'pair')} without a shared task "
           f"{'has' if untested == 1 else 'have'} no p)" if untested else "")
        + f"; 'ahead' iff the Holm p < {fmt.ALPHA:g}. The intervals are not adjusted. Tasks "
        "for 80% power: approximate, at the observed per-task difference."
        + _no_power(pairs) + _too_few_tasks(pairs)
        + "".join(f" The unadjusted interval of {c['model_a']} - {c['model_b']} excludes "
                  "0, but the Holm-adjusted test does not reject."
                  for c in pairs[:MAX_TABLE_ROWS] if _excludes_zero_unadjusted(c))
        + (f" {len(pairs) - MAX_TABLE_ROWS} more pairs are in findings.json."
           if len(pairs) > MAX_TABLE_ROWS else ""))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _no_power(pairs: list[dict[str, Any]]) -> str:
    """Why pairs have no power estimate: each distinct reason once, with how many pairs."""
    prefix = "no power estimate: "
    why = Counter(part.removeprefix(prefix) for c in pairs
                  if c["tasks_for_80_power"] is None and c["reason"]
                  for part in c["reason"].split("; ") if part.startswith(prefix))
    def which(n: int) -> str:
        if n < len(pairs):
            return f"{n} of the {_count(len(pairs), 'pair')}"
        return "the one pair" if n == 1 else f"all {_count(n, 'pair')}"

    return "".join(f" Tasks for 80% power n/a for {which(n)}: {reason}."
                   for reason, n in why.items())


def _too_few_tasks(pairs: list[dict[str, Any]]) -> str:
    """A sentence when the pairs with the fewest shared tasks cannot reach 'ahead' whatever
    the scores (:func:`.uncertainty.smallest_holm_p`)."""
    tested = [c["n_tasks"] for c in pairs if c["p_value"] is not None]
    if not tested:
        return ""
    fewest = min(tested)
    floor = smallest_holm_p(fewest, tested)
    if floor < fmt.ALPHA:
        return ""
    estimated = fewest > PERMUTATION_EXACT_MAX_TASKS  # (then every pair has the same floor)
    return (f" With {_count(fewest, 'shared task')} and {_count(len(tested), 'pair')}, the "
            f"smallest Holm-adjusted p the sign-flip test can give is {fmt.p(floor)}"
            + (f" (its p is estimated from {PERMUTATION_RESAMPLES:,} random sign flips)"
               if estimated else "")
            + f", so {'no' if estimated else 'no such'} pair can be 'ahead' whatever the "
            "scores.")


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


def evidence_tables(finding: dict[str, Any]) -> list[Table]:
    """Formatted evidence tables for one finding (a dict from the JSON document)."""
    return [part for part in evidence(finding) if isinstance(part, Table)]


def evidence_or_reason(finding: dict[str, Any]) -> Parts:
    """The finding's evidence tables or, when it has none, a note saying why."""
    return evidence(finding)


def claim_label(finding: dict[str, Any]) -> str:
    known = REGISTRY.get(finding["id"])
    if finding["verdict"] == "descriptive" or (known is not None and known.descriptive):
        return "Described (no claim is tested)"
    return "Claim tested"


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


def to_markdown(document: dict[str, Any]) -> str:
    """``results/findings.md``: leaderboard, then each finding's claim, evidence and verdict."""
    ds = document["dataset"]
    lines = [
        f"# {md_text(ds['name'])}: findings",
        "",
        f"Data set {md_code(ds['name'])}: {ds['n_models']} models, {ds['n_tasks']} tasks, "
        f"{ds['n_rows']} result rows{runs_phrase(document)}. Generated by "
        "`teamforge-analysis`; every number below is computed from the data files.",
        "",
        "## Leaderboard",
        "",
        leaderboard_table(document).to_markdown(),
    ]
    if uncertainty := uncertainty_tables(document):
        lines += ["## Leaderboard uncertainty", ""]
        for part in uncertainty:
            lines.append(part.to_markdown())
    if document.get("caveats"):
        lines += ["## Caveats", "", caveats_note(document).to_markdown()]
    for i, finding in enumerate(document["findings"], 1):
        lines += [
            f"## Finding {i}: {md_text(finding['title'])}",
            "",
            f"> {claim_label(finding)}: {md_text(finding['claim'])}",
            "",
        ]
        for table in evidence_tables(finding):
            lines += [table.to_markdown()]
        lines += [
            f"**Verdict: {finding['verdict'].replace('_', ' ')}**",
            "",
            md_paragraph(finding["text"]),
            "",
        ]
    lines.append(methods_markdown(short=True, heading_level=2))
    return "\n".join(lines).rstrip("\n") + "\n"
