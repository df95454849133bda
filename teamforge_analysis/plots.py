"""Figures: the leaderboard's, and the helpers each finding's figure (drawn by its definition
in :mod:`.findings`, from the finding's own statistics) shares.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot state), so they can
be made in scripts, tests and notebooks alike; :func:`png_bytes` renders one reproducibly, and
Jupyter shows a figure inline as exactly those bytes, with its alternative text, with no setup
call.
"""

from __future__ import annotations

import io
import sys
import textwrap
import warnings
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ._fmt import display_name, one_line
from .dataset import Dataset
from .findings import Finding, score_label
from .uncertainty import LeaderboardUncertainty

__all__ = ["MAX_LABELLED_MODELS", "MAX_LEGEND_MODELS", "PngFigure", "leaderboard", "png_bytes"]

#: Bar charts show at most this many models (the best by score); scatter plots label points
#: with model names only up to this many models.
MAX_LABELLED_MODELS = 30
#: A legend lists models (one marker each) up to this many.
MAX_LEGEND_MODELS = 20
LEVEL_COLOURS = {"easy": "#4c9f70", "medium": "#e0a030", "hard": "#c8553d"}
# 200 dpi and no text under 9 points: crisp at 2x zoom on a high-density screen (issue 16).
DPI = 200
SMALL = 9
TITLE = 10


class PngFigure(Figure):
    """A Figure that Jupyter shows inline as :func:`png_bytes` renders it (the image in a
    notebook is byte for byte the file the command writes), with ``alt_text`` as the image's
    alternative text (``metadata["image/png"]["alt"]``, which nbconvert's HTML reads)."""

    alt_text: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _show_inline_as_png()

    def _repr_png_(self) -> tuple[bytes, dict[str, str]]:
        return png_bytes(self), ({"alt": self.alt_text} if self.alt_text else {})


def _show_inline_as_png() -> None:
    """In IPython, registered for this class: matplotlib's inline backend (set up when pyplot
    is imported) registers a formatter for every Figure, which IPython would prefer to
    ``_repr_png_`` and which renders differently, without the alternative text."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None:
        shell.display_formatter.formatters["image/png"].for_type(PngFigure, PngFigure._repr_png_)


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
        # zlib level 3 instead of Pillow's 6: a third less time to encode, files 3% larger.
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None},
                       pil_kwargs={"compress_level": 3})
    return buffer.getvalue()


def plain(text: object) -> str:
    """Text from the data (a score label, a column name, a reason) shown as typed: on one
    line, every ``$`` escaped, so that matplotlib never reads a pair of them as mathtext."""
    return one_line(str(text)).replace("$", r"\$")


def name(text: object) -> str:
    """A model, task or level name as figures show it: :func:`plain`, at most
    :data:`._fmt.NAME_WIDTH` characters, and never hidden from a legend, which leaves out
    labels starting with ``_`` (a word joiner, U+2060, is invisible and keeps them in)."""
    shown = display_name(text).replace("$", r"\$")
    return "\u2060" + shown if shown.startswith("_") else shown


def new_figure(width: float = 7.0, height: float = 4.5) -> tuple[PngFigure, Any]:
    """A figure with one axes; constrained layout makes room for every text when drawn."""
    figure = PngFigure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def verdict_label(finding: Finding) -> str:
    return f"verdict {finding.verdict.replace('_', ' ')}"


def is_finite(value: object) -> bool:
    """Whether ``value`` is a finite number (a size that can be placed on an axis)."""
    return isinstance(value, int | float | np.number) and bool(np.isfinite(value))


def model_styles(models: list[str]) -> dict[str, dict[str, Any]]:
    """A colour and marker per model: the first models differ in both; each later ten repeat
    the colours, each colour with a marker one further on, so up to 10 × 9 models differ."""
    markers = ["o", "s", "^", "D", "v", "P", "X", "<", ">"]
    return {m: {"color": f"C{i % 10}", "marker": markers[(i % 10 + i // 10) % len(markers)]}
            for i, m in enumerate(models)}


def leaderboard(uncertainty: LeaderboardUncertainty, dataset: Dataset) -> Figure:
    """Dot plot of the leaderboard, best first: each model's weighted score with its 95%
    bootstrap interval where one can be estimated, and its rank with the rank interval."""
    models = uncertainty.models
    n = len(models)
    figure, ax = new_figure(8.0, max(2.5, 0.3 * n + 1.5))
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
    ax.set_yticks(y[:labelled], [name(m) for m in models["model"].head(labelled)], fontsize=9)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlim(0, 1)
    ax.set_xlabel(plain(score_label(dataset)))
    title = ("Leaderboard: score (dot) with its 95% interval (bar); right: rank (95% rank "
             "interval)" if has_ci.any() else "Leaderboard: score (dot); right: rank")
    if n > labelled:
        title += f"; ranks below {labelled} unlabelled"
    ax.set_title(title, fontsize=10)
    if not has_ci.any():
        figure.supxlabel(textwrap.fill(plain(f"No interval: {uncertainty.reason}."), 100),
                         fontsize=SMALL)
    ax.grid(axis="x", linewidth=0.5, alpha=0.4)
    figure.alt_text = ("Leaderboard: each model's score as a dot, best first, with its 95% "
                       "interval where one can be estimated, and its rank at the right")
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
