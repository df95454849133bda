"""One figure per finding, plus the leaderboard. Each function returns a matplotlib Figure.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot state), so they can
be made in scripts, tests and notebooks alike; :func:`png_bytes` renders one reproducibly.
"""

from __future__ import annotations

import io
import textwrap
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ._fmt import display_name, one_line
from .findings import Finding, difficulty_means, levels_present, model_sizes, score_label
from .io import Dataset
from .uncertainty import LeaderboardUncertainty

__all__ = [
    "FIGURES",
    "MAX_LABELLED_MODELS",
    "hard_task_boundary",
    "leaderboard",
    "planning_depth_vs_success",
    "png_bytes",
    "register_notebook_display",
    "reward_trajectories",
    "scale_vs_difficulty",
    "score_components",
    "step_efficiency",
    "test_pass_vs_score",
]

#: Bar charts show at most this many models (the best by score); scatter plots label points
#: with model names only up to this many models.
MAX_LABELLED_MODELS = 30
_LEVEL_COLOURS = {"easy": "#4c9f70", "medium": "#e0a030", "hard": "#c8553d"}
_DPI = 100


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG bytes, with no varying metadata (same input, same bytes)."""
    # Constrained layout measures the texts where the previous draw put the axes (names
    # beside points move with them), so a second draw can shift the axes by a pixel. Each
    # draw starts from the axes' unfitted place instead: the same bytes however often drawn.
    for ax in figure.axes:
        ax.set_position(ax.get_subplotspec().get_position(figure))
        ax.set_in_layout(True)  # (set_position takes the axes out of the layout)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # A name in a script the font lacks (CJK, emoji) is drawn with boxes; the outputs
        # that show names in full are findings.json and findings.md, so no warning on stderr.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        _save_png(figure, buffer)
    return buffer.getvalue()


def _save_png(figure: Figure, buffer: io.BytesIO) -> None:
    # zlib level 3 instead of Pillow's 6: a third less time to encode, files 3% larger.
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None},
                   pil_kwargs={"compress_level": 3})


def register_notebook_display(formatter: Any | None = None) -> bool:
    """Make Jupyter show every Figure inline as the PNG that :func:`png_bytes` renders.

    The figures are built without pyplot, so IPython has no image representation for them and
    would print ``<Figure size ...>``. Registering :func:`png_bytes` as the PNG formatter shows
    them without importing pyplot, and the notebook's images are byte for byte the files the
    command writes to ``figures/`` (no varying metadata, so exports are reproducible).

    Parameters
    ----------
    formatter
        An IPython ``DisplayFormatter``; by default the running IPython shell's.

    Returns
    -------
    bool
        False (and nothing registered) outside IPython.

    Examples
    --------
    >>> register_notebook_display()  # in a plain Python session
    False
    """
    if formatter is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
        if shell is None:
            return False
        formatter = shell.display_formatter
    formatter.formatters["image/png"].for_type(Figure, png_bytes)
    return True


def _no_math(text: object) -> str:
    """Text from the data (a score label, a column name, a reason) shown as typed: on one
    line, every ``$`` escaped, so that matplotlib never reads a pair of them as mathtext
    (``$^$`` would raise; ``$x$`` would be typeset)."""
    return one_line(str(text)).replace("$", r"\$")


def _name(text: object) -> str:
    """A model, task or level name as figures show it: :func:`_no_math`, at most
    :data:`._fmt.NAME_WIDTH` characters (a longer name keeps its start and end around an
    ellipsis), and never hidden from a legend, which leaves out labels starting with ``_``
    (a word joiner, U+2060, is invisible and keeps them in)."""
    shown = display_name(text).replace("$", r"\$")
    return "\u2060" + shown if shown.startswith("_") else shown


def _new_figure(width: float = 7.0, height: float = 4.5) -> tuple[Figure, Any]:
    # Constrained layout makes room for the tick labels, axis labels, title and the names
    # beside points, however long, whenever the figure is drawn.
    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


#: White space (inches) between a placeholder's text and the figure's edge.
_EDGE = 0.1


def _measuring_renderer(figure: Figure) -> Any:
    """The Agg renderer that :func:`png_bytes` will draw ``figure`` with, to measure text.

    The same renderer, not just the same kind: matplotlib caches text sizes per renderer, so
    the texts measured here are not measured again when the figure is drawn.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    return FigureCanvasAgg(figure).get_renderer()


def _r_label(corr: Mapping[str, Any] | None) -> str:
    """``r = 0.73 [-0.77, 0.99], n = 4``: r with its 95% interval where defined."""
    if not corr or corr.get("r") is None:
        return "r undefined"
    interval = corr.get("ci95")
    ci = f" [{interval[0]:.2f}, {interval[1]:.2f}]" if interval else ""
    size = f"n = {corr['n']}" if "n" in corr and "dof" not in corr else f"dof = {corr.get('dof')}"
    return f"r = {corr['r']:.2f}{ci}, {size}"


def _log_size_axis(ax: Any, sizes: np.ndarray, label: str) -> None:
    """Log-scaled size axis with plain tick labels (8, 10, 20, 50, ...)."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator, ScalarFormatter

    finite = sizes[np.isfinite(sizes) & (sizes > 0)]
    if finite.size:
        ax.set_xscale("log")
        lo, hi = finite.min() / 1.3, finite.max() * 1.3
        ax.set_xlim(lo, hi)
        decades = 10.0 ** np.arange(np.floor(np.log10(lo)), np.ceil(np.log10(hi)) + 1)
        ticks = [t for d in decades for t in (d, 2 * d, 5 * d) if lo <= t <= hi]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(f"{_no_math(label)} (billions of parameters, log scale)")


def _label_points(ax: Any, xs: np.ndarray, ys: np.ndarray, labels: list[str]) -> list[Any]:
    """Name each point (up to MAX_LABELLED_MODELS points); returns the names."""
    if len(labels) > MAX_LABELLED_MODELS:
        return []
    return [ax.annotate(_name(label), (x, y), xytext=(4, 3), textcoords="offset points", fontsize=7)
            for x, y, label in zip(xs, ys, labels, strict=True)
            if np.isfinite(x) and np.isfinite(y)]


def leaderboard(uncertainty: LeaderboardUncertainty, dataset: Dataset) -> Figure:
    """Dot plot of the leaderboard, best first: each model's weighted score with its 95%
    bootstrap interval where one can be estimated, and its rank with the rank interval."""
    models = uncertainty.models
    n = len(models)
    figure, ax = _new_figure(8.0, max(2.5, 0.3 * n + 1.5))
    y = np.arange(n)[::-1]
    score = models["score"].to_numpy(dtype=float)
    low = models["ci_low"].to_numpy(dtype=float)
    high = models["ci_high"].to_numpy(dtype=float)
    has_ci = np.isfinite(low) & np.isfinite(high)
    if has_ci.any():
        ax.errorbar(score[has_ci], y[has_ci], fmt="none", ecolor="#4c72b0", capsize=3,
                    linewidth=1.2, xerr=np.vstack([score - low, high - score])[:, has_ci])
    ax.scatter(score, y, color="black", s=14, zorder=3)
    labelled = min(n, MAX_LABELLED_MODELS)
    for yi, (_, row) in zip(y[:labelled], models.head(labelled).iterrows(), strict=True):
        ax.annotate(_rank_text(row), (1.0, yi), xycoords=("axes fraction", "data"),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=9)
    ax.set_yticks(y[:labelled], [_name(m) for m in models["model"].head(labelled)], fontsize=9)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlim(0, 1)
    ax.set_xlabel(_no_math(score_label(dataset)))
    title = ("Leaderboard: score (dot) with its 95% interval (bar); right: rank (95% rank "
             "interval)" if has_ci.any() else "Leaderboard: score (dot); right: rank")
    if n > labelled:
        title += f"; ranks below {labelled} unlabelled"
    ax.set_title(title, fontsize=10)
    if not has_ci.any():
        figure.supxlabel(textwrap.fill(_no_math(f"No interval: {uncertainty.reason}."), 100),
                         fontsize=8)
    ax.grid(axis="x", linewidth=0.5, alpha=0.4)
    return figure


def _rank_text(row: pd.Series) -> str:
    """``#2 (1-3)``: the rank with its 95% rank interval where one exists."""
    if pd.isna(row["rank"]):
        return "no rank (missing tasks)"
    rank = f"#{int(row['rank'])}"
    if pd.isna(row["rank_low"]):
        return rank
    low, high = int(row["rank_low"]), int(row["rank_high"])
    return f"{rank} ({low})" if low == high else f"{rank} ({low}-{high})"


def scale_vs_difficulty(dataset: Dataset, finding: Finding) -> Figure:
    """Mean score per difficulty level against model size (log scale), one colour per level."""
    stats = finding.statistics
    size_column = stats["size_column"]
    sizes = model_sizes(dataset, size_column)
    means = difficulty_means(dataset, "score")
    figure, ax = _new_figure()
    x = sizes.reindex(means.index).to_numpy()
    for level in means.columns:
        corr = stats["by_difficulty"].get(level)
        ax.scatter(x, means[level].to_numpy(), color=_LEVEL_COLOURS.get(level, "grey"),
                   label=f"{_name(level)}: {_r_label(corr)}", s=36)
    _log_size_axis(ax, x, size_column)
    ax.set_ylabel("mean task score")
    ax.set_ylim(-0.02, 1.05)
    ax.set_title(f"Scale vs difficulty: verdict {finding.verdict.replace('_', ' ')}")
    ax.legend(fontsize=8, loc="lower right")
    hardest = means.columns[-1]
    _label_points(ax, x, means[hardest].to_numpy(), list(means.index))
    return figure


def step_efficiency(dataset: Dataset, finding: Finding) -> Figure:
    """Mean steps per difficulty level, one line per model, with the mean over models."""
    means = difficulty_means(dataset, "steps")
    figure, ax = _new_figure()
    positions = np.arange(len(means.columns))
    many = len(means) > MAX_LABELLED_MODELS
    for model, row in means.iterrows():
        ax.plot(positions, row.to_numpy(), marker="" if many else "o", alpha=0.25 if many else 0.8,
                linewidth=1, label=None if many else _name(model))
    ax.plot(positions, means.mean().to_numpy(), color="black", linewidth=2.5, marker="s",
            label="mean over models")
    ax.set_xticks(positions, [_name(level) for level in means.columns])
    ax.set_xlabel("difficulty")
    ax.set_ylabel("steps")
    ax.set_title(f"Steps by difficulty: verdict {finding.verdict.replace('_', ' ')}")
    ax.legend(fontsize=7)
    return figure


def test_pass_vs_score(dataset: Dataset, finding: Finding) -> Figure:
    """Score against test pass rate for every (model, task) cell, coloured by difficulty."""
    results = dataset.results
    difficulty = results["task"].map(dataset.tasks.set_index("task")["difficulty"])
    figure, ax = _new_figure()
    for level in levels_present(dataset):
        cells = results[difficulty == level]
        ax.scatter(cells["test_pass"], cells["score"], color=_LEVEL_COLOURS.get(level, "grey"),
                   label=_name(level), s=30)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("test pass rate")
    ax.set_ylabel("score")
    repeated = finding.statistics.get("repeated_measures")
    ax.set_title(f"Test pass vs score, within tasks {_r_label(repeated)}: "
                 f"verdict {finding.verdict.replace('_', ' ')}", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    return figure


def hard_task_boundary(dataset: Dataset, finding: Finding) -> Figure:
    """Hardest-level mean score against size; filled markers pass, the threshold dashed."""
    stats = finding.statistics
    hardest = stats["hardest_level"]
    sizes = model_sizes(dataset, stats["size_column"])
    means = difficulty_means(dataset, "score")[hardest]
    x = sizes.reindex(means.index).to_numpy()
    passed = pd.Series(stats["passed"]).reindex(means.index)
    figure, ax = _new_figure()
    yes = (passed == True).to_numpy()  # noqa: E712 - null status counts as neither
    no = (passed == False).to_numpy()  # noqa: E712
    ax.scatter(x[yes], means.to_numpy()[yes], color=_LEVEL_COLOURS["easy"], s=40,
               label="passed every task")
    ax.scatter(x[no], means.to_numpy()[no], facecolors="none",
               edgecolors=_LEVEL_COLOURS["hard"], s=40, label="did not pass")
    for threshold in sorted(set(stats["thresholds"].values())):
        ax.axhline(threshold, color="grey", linestyle="--", linewidth=1)
    _log_size_axis(ax, x, stats["size_column"])
    ax.set_ylim(-0.02, 1.05)
    ax.set_ylabel(f"mean {_name(hardest)}-level score")
    ax.set_title(f"{stats['n_passed']} of {stats['n_models']} models pass the {_name(hardest)} "
                 "level: "
                 f"verdict {finding.verdict.replace('_', ' ')}", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    _label_points(ax, x, means.to_numpy(), list(means.index))
    return figure


def _not_computable(finding: Finding) -> Figure:
    """A placeholder saying why the finding has no figure (so no stale figure is left)."""
    figure = Figure(figsize=(7.0, 2.0))  # text only: no axes to build and draw
    text = figure.text(0.5, 0.5, "", ha="center", va="center", fontsize=10)
    renderer = _measuring_renderer(figure)
    room = figure.bbox.width - 2 * _EDGE * figure.dpi

    def width(line: str) -> float:
        text.set_text(line)
        return text.get_window_extent(renderer).width

    # Lines too wide for the figure are wrapped here, measuring whole lines, rather than by
    # matplotlib's wrap=True, which measures the text word by word each time it is drawn.
    lines: list[str] = []
    for line in (_no_math(f"{finding.title}: not computable"), _no_math(finding.verdict_reason)):
        wrapped, columns = [line], len(line)
        while columns > 20 and max(width(part) for part in wrapped) > room:
            columns = int(columns * 0.9)
            wrapped = textwrap.wrap(line, width=columns)
        lines += wrapped
    text.set_text("\n".join(lines))
    return figure


def score_components(dataset: Dataset, finding: Finding) -> Figure:
    """Stacked bars: each model's weighted score split into the grader's weighted components."""
    stats = finding.statistics
    if not stats.get("by_model"):
        return _not_computable(finding)
    weights = stats["weights"]
    ranked = sorted(
        ((m, v) for m, v in stats["by_model"].items() if v["teamforge_score"] is not None),
        key=lambda kv: (-kv[1]["teamforge_score"], kv[0]))[:MAX_LABELLED_MODELS]
    figure, ax = _new_figure(8.0, max(2.5, 0.45 * len(ranked) + 1.8))
    y = np.arange(len(ranked))[::-1]
    left = np.zeros(len(ranked))
    colours = ["#3b6ea5", "#4c9f70", "#e0a030", "#c8553d", "#8e6bb0"]
    for colour, (component, weight) in zip(colours, weights.items(), strict=False):
        part = np.array([v[component] for _, v in ranked], dtype=float)
        ax.barh(y, part, left=left, color=colour, edgecolor="white",
                label=f"{_name(component)} (x {weight:.2f})")
        left += part
    totals = np.array([v["teamforge_score"] for _, v in ranked], dtype=float)
    ax.scatter(totals, y, marker="|", color="black", s=150, linewidths=1.5,
               label=_name(score_label(dataset)))
    for yi, total, end in zip(y, totals, left, strict=True):
        ax.text(max(total, end) + 0.01, yi, f"{total:.3f}", va="center", fontsize=8)
    ax.set_yticks(y, [_name(m) for m, _ in ranked], fontsize=8)
    ax.set_xlim(0, 1.1)
    ax.set_xlabel(f"contribution to the {_no_math(score_label(dataset))}")
    n_bad = len(stats["mismatches"] or [])
    ax.set_title(f"Score components ({n_bad} row{'s' if n_bad != 1 else ''} off the formula)")
    ax.legend(fontsize=7, loc="lower right")
    return figure


def planning_depth_vs_success(dataset: Dataset, finding: Finding) -> Figure:
    """Run score against planning depth per episode; filled markers passed, by difficulty."""
    from .steps import dataset_episodes

    if dataset.steps is None or finding.statistics.get("depth_vs_score") is None:
        return _not_computable(finding)
    table = dataset_episodes(dataset, with_runs=True, with_tasks=True)
    figure, ax = _new_figure()
    levels = [lvl for lvl in dataset.levels if lvl in set(table["difficulty"])]
    # A fixed sideways offset per level keeps equal depths of different levels apart.
    offsets = dict(zip(levels, np.linspace(-0.15, 0.15, len(levels)), strict=True))
    for level in levels:
        rows = table[table["difficulty"] == level]
        x = rows["planning_depth"].to_numpy(dtype=float) + offsets[level]
        passed = rows["passed"].to_numpy(dtype=bool)
        colour = _LEVEL_COLOURS.get(level, "grey")
        ax.scatter(x[passed], rows["score"].to_numpy()[passed], color=colour, s=28,
                   label=f"{_name(level)}, passed")
        ax.scatter(x[~passed], rows["score"].to_numpy()[~passed], facecolors="none",
                   edgecolors=colour, s=28, label=f"{_name(level)}, not passed")
    corr = finding.statistics["depth_vs_passed"]
    ax.set_xlabel("planning depth (plan_step actions in the episode)")
    ax.set_ylabel("run score")
    ax.set_ylim(-0.02, 1.05)
    # Two lines: on one, the interval and verdict run past the figure's edge.
    ax.set_title(f"Planning depth vs success: verdict {finding.verdict.replace('_', ' ')}\n"
                 f"depth vs passed: {_r_label(corr)}", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    return figure


def reward_trajectories(dataset: Dataset, finding: Finding) -> Figure:
    """Mean cumulative reward against scaled step position, one line per difficulty level."""
    from .steps import reward_curves

    if dataset.steps is None:
        return _not_computable(finding)
    curves = reward_curves(dataset.steps, dataset.tasks)
    by_level = finding.statistics["by_difficulty"]
    figure, ax = _new_figure()
    for level in [lvl for lvl in dataset.levels if lvl in by_level]:
        rows = curves[curves["difficulty"] == level]
        ax.plot(rows["position"], rows["mean_cumulative_reward"], marker="o", markersize=3,
                color=_LEVEL_COLOURS.get(level, "grey"),
                label=f"{_name(level)} ({by_level[level]['episodes']} episodes)")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("position in episode, (step - first) / (last - first)")
    ax.set_ylabel("mean cumulative reward")
    ax.set_title("Reward trajectories by difficulty")
    ax.legend(fontsize=8)
    return figure


#: Figure function for each finding id.
FIGURES: dict[str, Callable[[Dataset, Finding], Figure]] = {
    "scale_vs_difficulty": scale_vs_difficulty,
    "step_efficiency": step_efficiency,
    "test_pass_vs_score": test_pass_vs_score,
    "hard_task_boundary": hard_task_boundary,
    "score_components": score_components,
    "planning_depth_vs_success": planning_depth_vs_success,
    "reward_trajectories": reward_trajectories,
}
