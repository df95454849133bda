"""Finding 5 (descriptive): how each model's weighted score splits into the grader's
components."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import _fmt as fmt
from ..dataset import Dataset
from ..schema import COMPONENT_COLUMNS
from ..scoring import score_matrix, task_weights, weighted_total
from ..stats import finite_or_none
from ..tables import (
    MAX_TABLE_MODELS,
    MAX_TABLE_ROWS,
    Table,
    more_models_note,
    more_rows_note,
)
from ._common import DESCRIPTIVE_REASON, Definition, Finding, ordered_inputs, score_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: A run row's score "differs from the formula" when it is further than this from it.
COMPONENT_TOLERANCE = 0.01


class ScoreComponents(Definition):
    """How each model's weighted score splits into the grader formula's components."""

    id = "score_components"
    title = "Score components"
    descriptive = True
    computes = (
        "With a grader formula in the data's profile (`grader` in benchmark.json: component "
        "columns, weights and a clamp; data with TeamForge's four component columns get "
        "TeamForge's formula) and its columns in results.csv, `by_model` gives each "
        "component's contribution to the model's weighted score, grader weight × Σ_t task "
        "weight × component (cells combined by the run protocol), and a `residual` (the score "
        "minus the contributions: clamping, and scores that do not follow the formula). "
        "`mismatches` lists every row of results.csv whose score is more than "
        f"{COMPONENT_TOLERANCE:g} from the clamped formula."
    )
    rule = (
        "*Descriptive*: it tests no claim. *Not computable* without a grader formula (in "
        "benchmark.json, or TeamForge's for data with its four component columns besides "
        "test_pass) or without the formula's columns in results.csv."
    )
    inputs_caption = "Scores and grader components per run"
    figure_shows = ("each model's weighted score as a bar split into the grader's weighted "
                    "components, with a tick at the score itself")

    def compute(self, dataset: Dataset) -> Finding:
        runs = dataset.runs
        assert runs is not None
        label = score_label(dataset)
        grader = getattr(dataset.profile, "grader", None)
        if grader is None:
            return self.not_computable(
                dataset, "it needs the grader formula (the grader entry of the data's "
                "benchmark.json: the component columns, their weights and the clamp)",
                claim=f"How each model's {label} splits into the grader's weighted components.")
        weights, clamp = dict(grader.weights), grader.clamp
        missing = [c for c in weights if c not in runs.columns or not runs[c].notna().all()]
        statistics: dict[str, Any] = {
            "weights": weights,
            "clamp": None if clamp is None else list(clamp),
            "tolerance": COMPONENT_TOLERANCE,
            "missing_columns": missing,
            "n_run_rows": len(runs),
            "by_model": None,
            "mismatches": None,
        }
        claim = (f"How each model's {label} splits into the grader's {len(weights)} weighted "
                 f"components, {grader_formula(weights, clamp)}, and which rows' scores do not "
                 "follow that formula.")
        if missing:
            return self.not_computable(
                dataset, f"results.csv has no values in column "
                f"{fmt.names(missing, conjunction='or')}", statistics, claim=claim,
                ask=f"Add the grader component columns {fmt.names(list(weights))} to "
                "results.csv to split scores into components and check them against the "
                "formula.")
        recomputed = recomputed_scores(runs, weights, clamp)
        off = (runs["score"] - recomputed).abs() > COMPONENT_TOLERANCE
        statistics["mismatches"] = [
            {"model": str(r.model), "task": str(r.task), "run": int(r.run),
             "score": float(r.score), "recomputed": float(r.recomputed)}
            for r in runs.loc[off].assign(recomputed=recomputed[off]).itertuples(index=False)]
        total, parts = _contributions(dataset, weights)
        residual = total - sum(parts.values())
        statistics["by_model"] = {
            model: {"teamforge_score": finite_or_none(total[i]),
                    **{c: finite_or_none(parts[c][i]) for c in weights},
                    "residual": finite_or_none(residual[i])}
            for i, model in enumerate(score_matrix(dataset, "score").index)}
        sentences = [_mismatch_sentence(len(runs), statistics["mismatches"])]
        if total.notna().any():
            n_complete = int(total.notna().sum())
            sentences.append(
                f"Averaged over the {n_complete} model{'s' if n_complete != 1 else ''} with "
                f"every task ({dataset.aggregate} over runs), the {label} of "
                f"{fmt.score(float(total.mean()))} is made of "
                + ", ".join(f"{c} {fmt.score(float(parts[c].mean()))}" for c in weights)
                + f" and a residual of {fmt.score(float(residual.mean()))}.")
        return self.result(dataset, statistics, "descriptive", DESCRIPTIVE_REASON, sentences,
                           claim)

    def input_frame(self, dataset: Dataset) -> pd.DataFrame:
        runs = dataset.runs
        assert runs is not None
        grader = getattr(dataset.profile, "grader", None)
        components = ("test_pass", *COMPONENT_COLUMNS) if grader is None else tuple(grader.weights)
        present = [c for c in components if c in runs.columns]
        rows = runs[["model", "task", "run", "score", *present]]
        if grader is not None and len(present) == len(components):
            rows = rows.assign(recomputed=recomputed_scores(runs, dict(grader.weights),
                                                            grader.clamp))
            rows = rows[["model", "task", "run", "score", "recomputed", *present]]
        return ordered_inputs(dataset, rows)

    def evidence(self, statistics: dict[str, Any]) -> list[Table]:
        return _tables(statistics)

    def figure(self, finding: Finding) -> Figure | None:
        return _figure(finding)


score_components = ScoreComponents()


def recomputed_scores(runs: pd.DataFrame, weights: dict[str, float],
                      clamp: tuple[float, float] | None = None) -> pd.Series:
    """A grader formula's score for every row: Σ weight × column, clamped to ``clamp``.

    Examples
    --------
    >>> row = pd.DataFrame({"test_pass": [1.0], "lint_score": [0.5]})
    >>> recomputed_scores(row, {"test_pass": 0.4, "lint_score": 0.6}).round(6).tolist()
    [0.7]
    >>> recomputed_scores(row, {"test_pass": 1.0, "lint_score": 0.6}, (0.0, 0.999)).tolist()
    [0.999]
    """
    raw = runs[list(weights)].to_numpy(dtype=float) @ np.array(list(weights.values()))
    if clamp is not None:
        raw = np.clip(raw, *clamp)
    return pd.Series(raw, index=runs.index, name="recomputed")


def grader_formula(weights: dict[str, float], clamp: tuple[float, float] | None) -> str:
    """``clamp(0.40 x test_pass + ..., 0.001, 0.999)`` (no clamp: the sum alone)."""
    terms = " + ".join(f"{fmt.given(w)} x {c}" for c, w in weights.items())
    return terms if clamp is None else f"clamp({terms}, {fmt.given(clamp[0])}, " \
                                       f"{fmt.given(clamp[1])})"


def _contributions(dataset: Dataset, weights: dict[str, float]
                   ) -> tuple[pd.Series, dict[str, pd.Series]]:
    """Each model's weighted score and each component's contribution to it (grader weight ×
    Σ_t task weight × component); a model missing any task has neither."""
    per_task = task_weights(dataset)

    def weighted_sum(column: str) -> pd.Series:
        values = score_matrix(dataset, column).to_numpy(dtype=float)
        return pd.Series(weighted_total(values, per_task))

    return weighted_sum("score"), {c: g * weighted_sum(c) for c, g in weights.items()}


def _mismatch_sentence(n: int, mismatches: list[dict[str, Any]]) -> str:
    listed = "; ".join(
        f"{m['model']} on {m['task']}, run {m['run']} (score {fmt.score(m['score'])}, "
        f"formula {fmt.score(m['recomputed'])})" for m in mismatches[:5])
    more = f"; and {len(mismatches) - 5} more" if len(mismatches) > 5 else ""
    return (f"Of {n} row{'s' if n != 1 else ''} of results.csv, {len(mismatches)} "
            f"ha{'ve' if len(mismatches) != 1 else 's'} a score more than "
            f"{fmt.given(COMPONENT_TOLERANCE)} away from the grader's formula"
            + (f": {listed}{more}" if mismatches else "") + ".")


def _tables(stats: dict[str, Any]) -> list[Table]:
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
        ("Model", "Weighted score", *(f"{c} ({fmt.given(w)})" for c, w in weights.items()),
         "Residual"),
        tuple((m, fmt.score(v["teamforge_score"]), *(fmt.score(v[c]) for c in weights),
               fmt.score(v["residual"])) for m, v in shown),
        more_models_note(len(items), len(shown)),
    )]
    mismatches = stats.get("mismatches") or []
    if mismatches:
        tables.append(Table(
            f"Rows whose score is more than {fmt.given(stats['tolerance'])} from the formula",
            ("Model", "Task", "Run", "Score", "Formula"),
            tuple((m["model"], m["task"], fmt.count(m["run"]), fmt.score(m["score"]),
                   fmt.score(m["recomputed"])) for m in mismatches[:MAX_TABLE_ROWS]),
            more_rows_note(len(mismatches), "mismatches"),
            label_columns=2,
        ))
    return tables


def _figure(finding: Finding) -> Figure | None:
    from .. import plots

    dataset, stats = finding.dataset, finding.statistics
    assert dataset is not None
    if not stats.get("by_model"):
        return None
    weights = stats["weights"]
    ranked = sorted(
        ((m, v) for m, v in stats["by_model"].items() if v["teamforge_score"] is not None),
        key=lambda kv: (-kv[1]["teamforge_score"], kv[0]))[:plots.MAX_LABELLED_MODELS]
    figure, ax = plots.new_figure(8.5, max(3.0, 0.45 * len(ranked) + 2.2))
    y = np.arange(len(ranked))[::-1]
    left = np.zeros(len(ranked))
    colours = ["#3b6ea5", "#4c9f70", "#e0a030", "#c8553d", "#8e6bb0"]
    handles = []
    for colour, (component, weight) in zip(colours, weights.items(), strict=False):
        part = np.array([v[component] for _, v in ranked], dtype=float)
        handles.append(ax.barh(y, part, left=left, color=colour, edgecolor="white",
                               label=f"{plots.name(component)} (x {fmt.given(weight)})"))
        left += part
    totals = np.array([v["teamforge_score"] for _, v in ranked], dtype=float)
    handles.append(ax.scatter(totals, y, marker="|", color="black", s=150, linewidths=1.5,
                              label=plots.name(score_label(dataset))))
    for yi, total, end in zip(y, totals, left, strict=True):
        ax.text(max(total, end) + 0.01, yi, fmt.score(total), va="center", fontsize=plots.SMALL)
    ax.set_yticks(y, [plots.name(m) for m, _ in ranked], fontsize=plots.SMALL)
    ax.tick_params(labelsize=plots.SMALL)
    ax.set_xlim(0, 1.1)
    ax.set_xlabel(f"contribution to the {plots.plain(score_label(dataset))}", fontsize=plots.SMALL)
    n_bad = len(stats["mismatches"] or [])
    figure.suptitle(f"Score components ({n_bad} row{'s' if n_bad != 1 else ''} off the formula)",
                 fontsize=plots.TITLE)
    # The components in the formula's order, then the total (a legend's default order would
    # put the total first).
    figure.legend(handles=handles, loc="outside lower center", fontsize=plots.SMALL, ncol=3)
    return figure
