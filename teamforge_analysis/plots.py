"""One figure per finding, plus the leaderboard. Each function returns a matplotlib Figure, or
None for a finding that is not computable (its text says why; a figure would only repeat it).

Each figure draws the finding's own statistics (``finding.statistics``), taking from the
Dataset only raw points the statistics do not hold (e.g. each model's level scores, computed
by :func:`.findings.difficulty_means` as the finding computes them), so a figure cannot drift
from its finding.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot state), so they can
be made in scripts, tests and notebooks alike; :func:`png_bytes` renders one reproducibly, and
Jupyter shows a figure inline as exactly those bytes.
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
from .findings import Finding, difficulty_means, grader_weights, model_sizes, score_label
from .io import Dataset
from .uncertainty import LeaderboardUncertainty

__all__ = [
    "FIGURES",
    "MAX_LABELLED_MODELS",
    "MAX_LEGEND_MODELS",
    "beyond_construction_residuals",
    "hard_task_boundary",
    "leaderboard",
    "planning_depth_vs_success",
    "png_bytes",
    "register_notebook_display",
    "reward_trajectories",
    "scale_vs_difficulty",
    "score_components",
    "step_differences",
    "step_efficiency",
    "test_pass_vs_score",
]

#: Bar charts show at most this many models (the best by score); scatter plots label points
#: with model names only up to this many models.
MAX_LABELLED_MODELS = 30
#: A legend lists models (one marker each) up to this many.
MAX_LEGEND_MODELS = 20
_LEVEL_COLOURS = {"easy": "#4c9f70", "medium": "#e0a030", "hard": "#c8553d"}
# 200 dpi and no text under 9 points: crisp at 2x zoom on a high-density screen (issue 16).
_DPI = 200
_SMALL = 9
_TITLE = 10


class _PngFigure(Figure):
    """A Figure that Jupyter shows inline, with no setup call, as :func:`png_bytes` renders
    it: the image in a notebook is byte for byte the file the command writes."""

    def _repr_png_(self) -> bytes:
        return png_bytes(self)


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

    This module's figures need no call: they render themselves through ``_repr_png_``, which
    is :func:`png_bytes`. Registering also covers plain matplotlib Figures, and takes
    precedence over a formatter that ``%matplotlib inline`` (or importing pyplot) installs
    for every Figure, which would otherwise render this module's figures differently. Either
    way the notebook's images are byte for byte the files the command writes to ``figures/``
    (no varying metadata, so exports are reproducible).

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
    figure = _PngFigure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


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
                         fontsize=_SMALL)
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


def _verdict(finding: Finding) -> str:
    return f"verdict {finding.verdict.replace('_', ' ')}"


def _finite(value: object) -> bool:
    """Whether ``value`` is a finite number (a size that can be placed on an axis)."""
    return isinstance(value, int | float | np.number) and bool(np.isfinite(value))


def _computable(finding: Finding) -> bool:
    """Whether the finding has numbers to draw: a not computable one gets no figure at all
    (an image of the sentence its text already says would only repeat it)."""
    return finding.verdict != "not_computable"


def _spread(values: np.ndarray, gap: float, low: float, high: float) -> np.ndarray:
    """``values`` moved apart to at least ``gap`` between neighbours, within [low, high] where
    they fit, each as little as this simple two-pass push allows (for names beside lines)."""
    order = np.argsort(values, kind="stable")
    placed = np.clip(values[order].astype(float), low, high)
    for i in range(1, len(placed)):  # push up
        placed[i] = max(placed[i], placed[i - 1] + gap)
    if len(placed) and placed[-1] > high:  # then push down from the top, if it overflows
        placed[-1] = max(high, low + gap * (len(placed) - 1))
        for i in range(len(placed) - 2, -1, -1):
            placed[i] = min(placed[i], placed[i + 1] - gap)
    out = np.empty_like(placed)
    out[order] = placed
    return out


def _text_height(figure_height: float, span: float) -> float:
    """The height of a 9-point line of text in data units of an axes spanning ``span`` (the
    axes' height estimated before layout: about all but 1.4 inches of the figure's)."""
    axes_inches = max(figure_height - 1.4, 1.0)
    return _SMALL * 1.35 / 72 / axes_inches * span


def _model_styles(models: list[str]) -> dict[str, dict[str, Any]]:
    """A colour and marker per model: the first models differ in both; each later ten repeat
    the colours, each colour with a marker one further on, so up to 10 × 9 models differ."""
    markers = ["o", "s", "^", "D", "v", "P", "X", "<", ">"]
    return {m: {"color": f"C{i % 10}", "marker": markers[(i % 10 + i // 10) % len(markers)]}
            for i, m in enumerate(models)}


# ----------------------------------------------------------------------------------------------
# Finding 1: scale vs difficulty
# ----------------------------------------------------------------------------------------------
def scale_vs_difficulty(dataset: Dataset, finding: Finding) -> Figure | None:
    """Left: each model's level scores joined across levels, easiest to hardest (a slope
    graph; names with sizes at the right). Middle: the finding's r with size at each level,
    on the size axis the statistic uses, with its 95% interval (and r at the hardest level
    with each model left out). Right: the hardest − easiest difference of r with Zou's 95%
    interval. None for a not computable finding."""
    if not _computable(finding):
        return None
    stats = finding.statistics
    means = difficulty_means(dataset, "score")
    levels = [lvl for lvl in dataset.levels if lvl in means.columns]
    means = means[levels]
    labelled = min(len(means), MAX_LABELLED_MODELS)
    height = max(5.0, 0.24 * labelled + 1.8)
    figure = _PngFigure(figsize=(13.0, height), layout="constrained")
    slope_ax, r_ax, diff_ax = figure.subplots(1, 3, width_ratios=[1.6, 1.0, 0.5])
    sizes = model_sizes(dataset, stats["size_column"])
    _slope_graph(slope_ax, means, sizes, height)
    _r_by_level(r_ax, stats, levels)
    _difference_panel(diff_ax, stats)
    floor = (stats.get("min_attainable_p") or {}).get("min_attainable_p")
    subtitle = (f"; with {stats['min_attainable_p']['n']} models the smallest attainable p is "
                f"{floor:.3g}" if floor is not None else "")
    figure.suptitle(f"Scale vs difficulty ({_no_math(stats['size_column'])}): "
                    f"{_verdict(finding)}{subtitle}", fontsize=_TITLE)
    return figure


def _slope_graph(ax: Any, means: pd.DataFrame, sizes: pd.Series, height: float) -> None:
    positions = np.arange(len(means.columns))
    hardest = means.iloc[:, -1]
    # Best at the hardest level first: those are named when there are too many to name all.
    order = list(hardest.sort_values(ascending=False, na_position="last", kind="stable").index)
    named = order[:MAX_LABELLED_MODELS]
    styles = _model_styles(named)
    for model in reversed(order):  # the named, best models drawn last, on top
        y = means.loc[model].to_numpy(dtype=float)
        if model in styles:
            ax.plot(positions, y, color=styles[model]["color"], marker="o", markersize=5,
                    linewidth=1.6, gid=f"slope:{model}")
        else:
            ax.plot(positions, y, color="grey", alpha=0.35, linewidth=0.8)
    low = min(0.0, float(np.nanmin(means.to_numpy(dtype=float), initial=0.0)))
    high = max(1.0, float(np.nanmax(means.to_numpy(dtype=float), initial=1.0)))
    ax.set_ylim(low - 0.03, high + 0.04)
    ends, ys = [], []
    for model in named:
        y = means.loc[model].to_numpy(dtype=float)
        finite = np.flatnonzero(np.isfinite(y))
        if finite.size:
            ends.append((model, positions[finite[-1]]))
            ys.append(y[finite[-1]])
    gap = _text_height(height, high - low + 0.07)
    for (model, x), y in zip(ends, _spread(np.array(ys), gap, low, high), strict=True):
        size = sizes.get(model)
        size_text = f"{size:g}" if _finite(size) else "size unknown"
        ax.text(x + 0.07, y, f"{_name(model)} ({size_text})", color=styles[model]["color"],
                va="center", ha="left", fontsize=_SMALL)
    ax.set_xticks(positions, [_name(level) for level in means.columns], fontsize=_SMALL)
    # No right spine: the names start just past the hardest level, outside the axes.
    ax.set_xlim(-0.12, positions[-1] + 0.04)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlabel("difficulty level (easiest to hardest)", fontsize=_SMALL)
    ax.set_ylabel("level score (weighted mean over the level's tasks)", fontsize=_SMALL)
    title = f"Each model's level scores (name, {_no_math(sizes.name or 'size')})"
    if len(order) > len(named):
        title += f"\n{len(order) - len(named)} more models drawn unlabelled in grey"
    ax.set_title(title, fontsize=_SMALL)
    ax.grid(axis="y", linewidth=0.5, alpha=0.4)


def _r_by_level(ax: Any, stats: Mapping[str, Any], levels: list[str]) -> None:
    by_level = stats["by_difficulty"]
    x = np.arange(len(levels))
    ticks = []
    for i, level in enumerate(levels):
        corr = by_level.get(level) or {}
        ticks.append(f"{_name(level)}\nn = {corr.get('n', 0)}")
        if corr.get("r") is None:
            ax.text(i, 0.05, "r undefined", ha="center", fontsize=_SMALL, rotation=90)
            continue
        r, interval = corr["r"], corr.get("ci95")
        yerr = None if not interval else [[r - interval[0]], [interval[1] - r]]
        bars = ax.errorbar([i], [r], yerr=yerr, fmt="o", capsize=4, markersize=6,
                           color=_LEVEL_COLOURS.get(level, "black"))
        bars.lines[0].set_gid(f"r:{level}")  # the point alone (for tests to find)
        ax.annotate(f"{r:.2f}", (i, r), xytext=(7, 0), textcoords="offset points",
                    va="center", fontsize=_SMALL)
    out = [row["r"] for row in stats.get("leave_one_out") or [] if row.get("r") is not None]
    if out and stats.get("hardest") in levels:
        at = levels.index(stats["hardest"]) - 0.22
        ax.scatter(np.full(len(out), at), out, marker="x", color="grey", s=24,
                   label="hardest level, one model left out", gid="leave_one_out")
        ax.legend(fontsize=_SMALL, loc="lower center")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xticks(x, ticks, fontsize=_SMALL)
    ax.set_xlim(-0.5, len(levels) - 0.5)
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel(f"Pearson r with {_no_math(stats['size_column'])} (linear), 95% CI",
                  fontsize=_SMALL)
    ax.set_title("r of size and level score, by level", fontsize=_SMALL)


def _difference_panel(ax: Any, stats: Mapping[str, Any]) -> None:
    diff = stats.get("hard_minus_easy") or {}
    name = f"{_name(stats.get('hardest'))} −\n{_name(stats.get('easiest'))}"
    if diff.get("difference") is not None and diff.get("ci95"):
        d, (lo, hi) = diff["difference"], diff["ci95"]
        bars = ax.errorbar([0], [d], yerr=[[d - lo], [hi - d]], fmt="D", color="black",
                           capsize=4, markersize=6)
        bars.lines[0].set_gid("hard_minus_easy")
        ax.annotate(f"{d:.2f}", (0, d), xytext=(7, 0), textcoords="offset points",
                    va="center", fontsize=_SMALL)
    else:
        reason = diff.get("reason") or "undefined"
        ax.text(0, 0.1, "\n".join(textwrap.wrap(_no_math(reason), 14)), ha="center",
                fontsize=_SMALL)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xticks([0], [name], fontsize=_SMALL)
    ax.set_xlim(-0.6, 0.6)
    ax.set_ylim(-2.05, 2.05)
    ax.set_ylabel("difference in r, Zou's 95% CI", fontsize=_SMALL)
    ax.set_title("hardest − easiest", fontsize=_SMALL)


# ----------------------------------------------------------------------------------------------
# Finding 2: step efficiency
# ----------------------------------------------------------------------------------------------
def step_differences(finding: Finding, levels: list[str]) -> pd.Series:
    """Each model's d = (level 2 − level 1) − (last − one before) in steps, from the finding's
    ``by_model`` level means (models missing a level are left out), levels in rank order."""
    rows = {}
    for model, by_level in finding.statistics.get("by_model", {}).items():
        v = [by_level.get(level) for level in levels]
        if len(v) >= 3 and all(x is not None for x in v):
            rows[model] = (v[1] - v[0]) - (v[-1] - v[-2])
    return pd.Series(rows, dtype=float)


def step_efficiency(dataset: Dataset, finding: Finding) -> Figure | None:
    """Each model's d (steps added between the two easiest levels minus those added between
    the two hardest), with the mean d, its 95% t-interval and a zero line (d > 0: steps rise
    more at the easy end). None for a not computable finding."""
    if not _computable(finding):
        return None
    stats = finding.statistics
    levels = [lvl for lvl in dataset.levels if lvl in stats.get("mean_steps", {})]
    d = step_differences(finding, levels).sort_values(kind="stable")
    named = len(d) <= MAX_LABELLED_MODELS
    figure, ax = _new_figure(8.0, min(9.0, max(3.6, 0.32 * len(d) + 2.2)))
    y = np.arange(len(d))
    ax.scatter(d.to_numpy(), y, color="black", s=30, zorder=3, label="one model's d",
               gid="d_per_model")
    effect = stats.get("effect") or {}
    if effect.get("mean_d") is not None:
        mean = effect["mean_d"]
        interval = effect.get("ci95")
        ci = f", 95% CI [{interval[0]:.2f}, {interval[1]:.2f}]" if interval else ""
        ax.axvline(mean, color="#3b6ea5", linewidth=2,
                   label=f"mean d = {mean:.2f}{ci} (n = {effect['n']})", gid="mean_d")
        if interval:
            ax.axvspan(*interval, color="#3b6ea5", alpha=0.18, linewidth=0, gid="mean_d_ci")
    else:
        ax.plot([], [], " ", label=_no_math(f"mean d undefined: {effect.get('reason')}"))
    ax.axvline(0, color="grey", linestyle="--", linewidth=1, label="no difference (d = 0)")
    if named:
        ax.set_yticks(y, [_name(m) for m in d.index], fontsize=_SMALL)
    else:
        ax.set_yticks([])
    ax.set_ylim(-0.7, len(d) - 0.3)
    names = [_name(level) for level in levels]
    formula = (f"({names[1]} − {names[0]}) − ({names[-1]} − {names[-2]})" if len(names) >= 3
               else "undefined")
    ax.set_xlabel(f"d = {formula}, in steps", fontsize=_SMALL)
    ax.tick_params(labelsize=_SMALL)
    test = stats.get("paired_test") or {}
    p = test.get("p_value")
    floor = test.get("min_attainable_p")
    test_text = ("Wilcoxon signed-rank p = " + f"{p:.3g}" if p is not None else "no test")
    if floor is not None:
        test_text += f" (smallest attainable {floor:.3g})"
    unnamed = "" if named else f"; {len(d)} models, unlabelled"
    # Over the figure, not the axes: long model names shift the axes right.
    figure.suptitle(f"Step efficiency: d per model{unnamed}\n{test_text}: {_verdict(finding)}",
                 fontsize=_TITLE)
    # Below the axes: inside, the legend would cover points or the interval.
    figure.legend(loc="outside lower center", fontsize=_SMALL, ncol=3)
    ax.grid(axis="x", linewidth=0.5, alpha=0.4)
    return figure


# ----------------------------------------------------------------------------------------------
# Finding 3: test pass vs score, beyond construction
# ----------------------------------------------------------------------------------------------
def beyond_construction_residuals(dataset: Dataset, finding: Finding) -> pd.DataFrame:
    """The (model, task) cells' test_pass and outcome (score − w × test_pass, w the grader's
    weight; the score itself when the finding's outcome is the score), each residualised on
    model and task dummies by least squares: the two variables whose correlation is
    ``statistics["beyond_construction"]["r"]``. Columns ``model, task, test_pass, outcome``."""
    beyond = finding.statistics["beyond_construction"]
    weight = None if beyond["outcome"] == "score" else (
        (grader_weights(dataset) or {}).get("test_pass"))
    cells = dataset.results[["model", "task", "score", "test_pass"]].dropna()
    outcome = cells["score"] - (0.0 if weight is None else weight) * cells["test_pass"]
    dummies = pd.get_dummies(cells[["model", "task"]].astype(str), drop_first=True, dtype=float)
    design = np.column_stack([np.ones(len(cells)), dummies.to_numpy(dtype=float)])
    values = np.column_stack([cells["test_pass"].to_numpy(dtype=float),
                              outcome.to_numpy(dtype=float)])
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    residual = values - design @ coef
    return pd.DataFrame({"model": cells["model"].to_numpy(), "task": cells["task"].to_numpy(),
                         "test_pass": residual[:, 0], "outcome": residual[:, 1]})


def test_pass_vs_score(dataset: Dataset, finding: Finding) -> Figure | None:
    """The beyond-construction residuals: test_pass against the rest of the score, each after
    model and task effects, one marker per model; the title gives the finding's partial r
    with its 95% interval. None for a not computable finding."""
    if not _computable(finding):
        return None
    beyond = finding.statistics["beyond_construction"]
    cells = beyond_construction_residuals(dataset, finding)
    models = sorted(cells["model"].unique())
    styles = _model_styles(models)
    figure, ax = _new_figure(8.5, 5.0)
    for model in models:
        rows = cells[cells["model"] == model]
        shown = _name(model) if len(models) <= MAX_LEGEND_MODELS else None
        ax.scatter(rows["test_pass"], rows["outcome"], s=36, label=shown,
                   edgecolors="white", linewidths=0.5, gid=f"cells:{model}", **styles[model])
    for value in (ax.axhline, ax.axvline):
        value(0, color="grey", linewidth=0.8)
    if len(cells) > 1 and np.ptp(cells["test_pass"]) > 0:
        slope, intercept = np.polyfit(cells["test_pass"], cells["outcome"], 1)
        x = np.array([cells["test_pass"].min(), cells["test_pass"].max()])
        ax.plot(x, intercept + slope * x, color="black", linewidth=1, alpha=0.6,
                label="least-squares line")
    outcome = _no_math(beyond["outcome"])
    ax.set_xlabel("test_pass, after model and task effects (residual)", fontsize=_SMALL)
    ax.set_ylabel(f"{outcome},\nafter model and task effects (residual)", fontsize=_SMALL)
    ax.tick_params(labelsize=_SMALL)
    interval = beyond.get("ci95")
    ci = f" [{interval[0]:.2f}, {interval[1]:.2f}]" if interval else ""
    figure.suptitle(
        f"Test pass vs score beyond construction: partial r = {beyond['r']:.2f}{ci}, "
        f"{beyond['n']} cells, {beyond['dof']} residual dof\n"
        f"near-perfect means r ≥ {finding.statistics.get('near_perfect_r', 0.9):g}: "
        f"{_verdict(finding)}", fontsize=_TITLE)
    legend_title = ("model" if len(models) <= MAX_LEGEND_MODELS
                    else f"{len(models)} models (not listed)")
    # Below the axes: beside them, the legend's top would meet the title.
    figure.legend(loc="outside lower center", fontsize=_SMALL, title=legend_title,
                  title_fontsize=_SMALL, ncol=4)
    return figure


# ----------------------------------------------------------------------------------------------
# Finding 4: the hardest level as a boundary
# ----------------------------------------------------------------------------------------------
def hard_task_boundary(dataset: Dataset, finding: Finding) -> Figure | None:
    """Every level's score against model size (small dots; the hardest level's big, filled
    if the model passes it, hollow if not), the level's weighted pass threshold as a labelled
    line, names inside the axes, the Mann–Whitney size test in the title. None for a not
    computable finding."""
    if not _computable(finding):
        return None
    stats = finding.statistics
    hardest, size_column = stats["hardest_level"], stats["size_column"]
    sizes = model_sizes(dataset, size_column)
    scores = pd.Series(stats["level_scores"], dtype=float)
    models = [m for m in scores.index if _finite(sizes.get(m))]
    x = sizes.reindex(models).to_numpy(dtype=float)
    figure, ax = _new_figure(8.5, 5.4)
    means = difficulty_means(dataset, "score")
    for level in [lvl for lvl in dataset.levels if lvl != hardest and lvl in means.columns]:
        ax.scatter(x, means[level].reindex(models).to_numpy(dtype=float), s=16, alpha=0.8,
                   color=_LEVEL_COLOURS.get(level, "grey"), label=f"{_name(level)} level")
    y = scores.reindex(models).to_numpy(dtype=float)
    passed = pd.Series(stats["passed"]).reindex(models)
    yes, no = (passed == True).to_numpy(), (passed == False).to_numpy()  # noqa: E712
    colour = _LEVEL_COLOURS.get(hardest, _LEVEL_COLOURS["hard"])
    ax.scatter(x[yes], y[yes], s=70, color=colour, edgecolors="black", zorder=3,
               label=f"{_name(hardest)} level, passes", gid="hardest:passed")
    ax.scatter(x[no], y[no], s=70, facecolors="white", edgecolors=colour, linewidths=1.8,
               zorder=3, label=f"{_name(hardest)} level, does not pass", gid="hardest:failed")
    threshold = stats["level_threshold"]
    ax.axhline(threshold, color="black", linestyle="--", linewidth=1, gid="level_threshold")
    _log_size_axis(ax, x, size_column)
    ax.set_ylim(-0.02, 1.08)
    # Just above the line, on a white ground that keeps it readable over the dots.
    ax.annotate(f"{_name(hardest)}-level pass threshold {threshold:.2f} (weighted over its "
                "tasks)", (0.01, threshold), xycoords=("axes fraction", "data"), xytext=(0, 3),
                textcoords="offset points", va="bottom", fontsize=_SMALL,
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1})
    _names_inside(ax, x, y, models)
    without = len(scores) - len(models)
    if without:
        ax.set_xlabel(f"{ax.get_xlabel()}; {without} model{'s' if without > 1 else ''} "
                      "without a size not shown", fontsize=_SMALL)
    ax.xaxis.label.set_fontsize(_SMALL)
    ax.tick_params(labelsize=_SMALL)
    ax.set_ylabel("level score (weighted mean over the level's tasks)", fontsize=_SMALL)
    figure.suptitle(f"{stats['n_passed']} of {stats['n_models']} models pass the "
                 f"{_name(hardest)} level\n{_size_test_text(stats['size_test'])}: "
                 f"{_verdict(finding)}", fontsize=_TITLE)
    figure.legend(loc="outside lower center", fontsize=_SMALL, ncol=4)
    return figure


def _size_test_text(test: Mapping[str, Any]) -> str:
    """``Mann-Whitney U = 8, p = 0.133 (smallest attainable 0.133)``, or why there is none."""
    if test.get("p_value") is None:
        return _no_math(f"no size test: {test.get('reason')}")
    text = f"Mann-Whitney U = {test['statistic']:g}, two-sided p = {test['p_value']:.3g}"
    if test.get("min_attainable_p") is not None:
        text += f" (smallest attainable {test['min_attainable_p']:.3g})"
    return text


def _names_inside(ax: Any, x: np.ndarray, y: np.ndarray, models: list[str]) -> None:
    """Name each point beside it, on the side facing the axes' centre so no name runs out of
    the axes (up to MAX_LABELLED_MODELS points)."""
    if len(models) > MAX_LABELLED_MODELS or not len(x):
        return
    lo, hi = (np.log10(v) for v in ax.get_xlim())
    for xi, yi, model in zip(x, y, models, strict=True):
        if not (np.isfinite(xi) and np.isfinite(yi)):
            continue
        right = (np.log10(xi) - lo) / (hi - lo) > 0.6
        above = yi < 0.9
        ax.annotate(_name(model), (xi, yi), xytext=(-7 if right else 7, 7 if above else -9),
                    textcoords="offset points", ha="right" if right else "left",
                    va="bottom" if above else "top", fontsize=_SMALL)


# ----------------------------------------------------------------------------------------------
# Findings 5 to 7
# ----------------------------------------------------------------------------------------------
def score_components(dataset: Dataset, finding: Finding) -> Figure | None:
    """Stacked bars: each model's weighted score split into the grader's weighted components.
    None for a not computable finding."""
    stats = finding.statistics
    if not _computable(finding) or not stats.get("by_model"):
        return None
    weights = stats["weights"]
    ranked = sorted(
        ((m, v) for m, v in stats["by_model"].items() if v["teamforge_score"] is not None),
        key=lambda kv: (-kv[1]["teamforge_score"], kv[0]))[:MAX_LABELLED_MODELS]
    figure, ax = _new_figure(8.5, max(3.0, 0.45 * len(ranked) + 2.2))
    y = np.arange(len(ranked))[::-1]
    left = np.zeros(len(ranked))
    colours = ["#3b6ea5", "#4c9f70", "#e0a030", "#c8553d", "#8e6bb0"]
    handles = []
    for colour, (component, weight) in zip(colours, weights.items(), strict=False):
        part = np.array([v[component] for _, v in ranked], dtype=float)
        handles.append(ax.barh(y, part, left=left, color=colour, edgecolor="white",
                               label=f"{_name(component)} (x {weight:.2f})"))
        left += part
    totals = np.array([v["teamforge_score"] for _, v in ranked], dtype=float)
    handles.append(ax.scatter(totals, y, marker="|", color="black", s=150, linewidths=1.5,
                              label=_name(score_label(dataset))))
    for yi, total, end in zip(y, totals, left, strict=True):
        ax.text(max(total, end) + 0.01, yi, f"{total:.3f}", va="center", fontsize=_SMALL)
    ax.set_yticks(y, [_name(m) for m, _ in ranked], fontsize=_SMALL)
    ax.tick_params(labelsize=_SMALL)
    ax.set_xlim(0, 1.1)
    ax.set_xlabel(f"contribution to the {_no_math(score_label(dataset))}", fontsize=_SMALL)
    n_bad = len(stats["mismatches"] or [])
    figure.suptitle(f"Score components ({n_bad} row{'s' if n_bad != 1 else ''} off the formula)",
                 fontsize=_TITLE)
    # The components in the formula's order, then the total (a legend's default order would
    # put the total first).
    figure.legend(handles=handles, loc="outside lower center", fontsize=_SMALL, ncol=3)
    return figure


def _swarm_offsets(scores: np.ndarray, width: float, near: float) -> np.ndarray:
    """Sideways offsets (within ±``width``) for points of one column so that no two points
    closer than ``near`` in score share an offset: each takes the free slot nearest the
    centre. Deterministic (sorted by score), so the figure is the same on every draw."""
    order = np.argsort(scores, kind="stable")
    slots = np.zeros(len(scores), dtype=int)
    placed: list[tuple[float, int]] = []
    for i in order:
        taken = {slot for score, slot in placed if abs(score - scores[i]) < near}
        slot = next(s for k in range(len(scores) + 1) for s in (k, -k) if s not in taken)
        slots[i] = slot
        placed.append((scores[i], slot))
    widest = max(1, int(np.abs(slots).max()))
    return slots * min(width / widest, width / 2)


def planning_depth_vs_success(dataset: Dataset, finding: Finding) -> Figure | None:
    """Run score against planning depth per episode, one column per depth and level; points
    of one column that would overlap are set side by side (none hidden). Filled markers passed.
    None for a not computable finding."""
    from .steps import dataset_episodes

    if (not _computable(finding) or dataset.steps is None
            or finding.statistics.get("depth_vs_score") is None):
        return None
    table = dataset_episodes(dataset, with_runs=True, with_tasks=True)
    figure, ax = _new_figure(8.5, 5.0)
    levels = [lvl for lvl in dataset.levels if lvl in set(table["difficulty"])]
    # Each level its own column beside each depth; within a column, a swarm.
    centres = dict(zip(levels, np.linspace(-0.25, 0.25, len(levels)) if len(levels) > 1
                       else [0.0], strict=True))
    band = 0.25 / max(1, len(levels) - 1) * 0.45 if len(levels) > 1 else 0.2
    for level in levels:
        rows = table[table["difficulty"] == level]
        score = rows["score"].to_numpy(dtype=float)
        depth = rows["planning_depth"].to_numpy(dtype=float)
        x = depth + centres[level]
        for value in np.unique(depth):
            column = depth == value
            x[column] += _swarm_offsets(score[column], band, near=0.035)
        passed = rows["passed"].to_numpy(dtype=bool)
        colour = _LEVEL_COLOURS.get(level, "grey")
        ax.scatter(x[passed], score[passed], color=colour, s=24, label=f"{_name(level)}, passed",
                   gid=f"episodes:{level}:passed")
        ax.scatter(x[~passed], score[~passed], facecolors="white", edgecolors=colour, s=24,
                   linewidths=1.3, label=f"{_name(level)}, not passed",
                   gid=f"episodes:{level}:failed")
    depths = np.unique(table["planning_depth"].dropna().to_numpy(dtype=int))
    ax.set_xticks(depths, [str(d) for d in depths], fontsize=_SMALL)
    ax.tick_params(labelsize=_SMALL)
    corr = finding.statistics["depth_vs_passed"]
    ax.set_xlabel("planning depth (plan_step actions in the episode); levels side by side",
                  fontsize=_SMALL)
    ax.set_ylabel("run score", fontsize=_SMALL)
    ax.set_ylim(-0.03, 1.05)
    figure.suptitle(f"Planning depth vs success, {len(table)} episodes: {_verdict(finding)}\n"
                 f"depth vs passed: {_r_label(corr)}", fontsize=_TITLE)
    figure.legend(loc="outside lower center", fontsize=_SMALL, ncol=3)
    return figure


def reward_trajectories(dataset: Dataset, finding: Finding) -> Figure | None:
    """Per level, the mean cumulative reward of the level's episodes at each position of the
    episode (every episode interpolated onto one grid), with its 95% t-band; the last point
    is the mean final total reward. None for a not computable finding."""
    from .steps import reward_bands

    if not _computable(finding) or dataset.steps is None:
        return None
    bands = reward_bands(dataset.steps, dataset.tasks)
    figure, ax = _new_figure(8.5, 5.0)
    for level in [lvl for lvl in dataset.levels if lvl in set(bands["difficulty"])]:
        rows = bands[bands["difficulty"] == level]
        colour = _LEVEL_COLOURS.get(level, "grey")
        n = int(rows["episodes"].iloc[0])
        ax.plot(rows["position"], rows["mean_cumulative_reward"], color=colour, linewidth=2,
                label=f"{_name(level)} (n = {n} episode{'s' if n != 1 else ''})",
                gid=f"reward:{level}")
        ax.fill_between(rows["position"], rows["ci_low"], rows["ci_high"], color=colour,
                        alpha=0.18, linewidth=0)
        last = rows["mean_cumulative_reward"].iloc[-1]
        ax.plot([1.0], [last], marker="o", color=colour, markersize=6, clip_on=False)
        ax.annotate(f"{last:.2f}", (1.0, last), xytext=(6, 0), textcoords="offset points",
                    va="center", fontsize=_SMALL, color=colour)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("position in episode, (step − first) / (last − first)", fontsize=_SMALL)
    ax.set_ylabel("mean cumulative reward (95% t-band)", fontsize=_SMALL)
    ax.tick_params(labelsize=_SMALL)
    ax.set_title("Reward trajectories: each episode interpolated onto one grid, then averaged;"
                 "\nthe last point is the mean total reward", fontsize=_TITLE)
    ax.legend(fontsize=_SMALL, loc="upper left")
    return figure


#: Figure function for each finding id.
FIGURES: dict[str, Callable[[Dataset, Finding], Figure | None]] = {
    "scale_vs_difficulty": scale_vs_difficulty,
    "step_efficiency": step_efficiency,
    "test_pass_vs_score": test_pass_vs_score,
    "hard_task_boundary": hard_task_boundary,
    "score_components": score_components,
    "planning_depth_vs_success": planning_depth_vs_success,
    "reward_trajectories": reward_trajectories,
}
