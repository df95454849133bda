"""Figure layout (every text inside the figure, labels outside the plotting area). No timing
here: speed lives in benchmarks/."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import OTHER_DATA_DIR, TESTS_DIR
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from teamforge_analysis import analyze, plots

RUNS_DIR = TESTS_DIR / "data" / "runs_benchmark"
#: Half a pixel: text extents are fractional, the canvas is whole pixels.
SLACK = 0.5


def _long_names(folder: Path) -> Path:
    """INVENTED for this test: the bundled data with model names of 40-odd characters."""
    data = TESTS_DIR.parent / "data"
    results = pd.read_csv(data / "results.csv")
    models = pd.read_csv(data / "models.csv")
    for frame in (results, models):
        frame["model"] = frame["model"] + "-with-a-long-and-entirely-invented-suffix"
    results.to_csv(folder / "results.csv", index=False, lineterminator="\n")
    models.to_csv(folder / "models.csv", index=False, lineterminator="\n")
    (folder / "tasks.csv").write_bytes((data / "tasks.csv").read_bytes())
    return folder


def _figures(data: Path | None) -> dict[str, Figure]:
    result = analyze(data)
    figures = {"leaderboard": plots.leaderboard(result.uncertainty, result.dataset)}
    for finding in result.findings:
        figures[finding.id] = plots.FIGURES[finding.id](result.dataset, finding)
    return figures


@functools.cache  # (the layout tests look at the same figures: each is drawn once for them)
def _drawn(figure: Figure) -> Any:
    """Draw ``figure`` as png_bytes does and return the renderer, to read where texts went."""
    plots.png_bytes(figure)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return canvas.get_renderer()


def _drawn_tick_labels(axis: Any) -> list[Text]:
    """The tick labels matplotlib draws (its own draw-time selection, not the module's)."""
    return [tick.label1 for tick in axis._update_ticks() if tick.label1.get_visible()]


def _texts(figure: Figure) -> list[Text]:
    """The texts drawn: the figure's, and each axes' title, labels, tick labels (those in
    view), annotations and legend entries."""
    texts = list(figure.texts)
    for ax in figure.axes:
        texts += [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts,
                  *_drawn_tick_labels(ax.xaxis), *_drawn_tick_labels(ax.yaxis)]
        legend = ax.get_legend()
        if legend is not None:
            texts += legend.get_texts()
    return [t for t in texts if t.get_visible() and t.get_text()]


@pytest.fixture(scope="module", params=["bundled", "runs", "other", "long_names"])
def figures(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> dict[str, Figure]:
    folders = {"bundled": None, "runs": RUNS_DIR, "other": OTHER_DATA_DIR}
    if request.param == "long_names":
        return _figures(_long_names(tmp_path_factory.mktemp("long_names")))
    return _figures(folders[request.param])


def test_every_text_is_inside_the_figure(figures: dict[str, Figure]) -> None:
    for name, figure in figures.items():
        renderer = _drawn(figure)
        width, height = figure.bbox.width, figure.bbox.height
        for text in _texts(figure):
            box = text.get_window_extent(renderer)
            assert box.x0 >= -SLACK and box.x1 <= width + SLACK, (name, text.get_text())
            assert box.y0 >= -SLACK and box.y1 <= height + SLACK, (name, text.get_text())


def test_axis_labels_and_title_are_outside_the_plotting_area(figures: dict[str, Figure]
                                                            ) -> None:
    for name, figure in figures.items():
        renderer = _drawn(figure)
        for ax in figure.axes:
            area = ax.bbox
            for label in [*_drawn_tick_labels(ax.yaxis), ax.yaxis.label]:
                if label.get_text():
                    assert label.get_window_extent(renderer).x1 <= area.x0 + SLACK, name
            for label in [*_drawn_tick_labels(ax.xaxis), ax.xaxis.label]:
                if label.get_text():
                    assert label.get_window_extent(renderer).y1 <= area.y0 + SLACK, name
            if ax.title.get_text():
                assert ax.title.get_window_extent(renderer).y0 >= area.y1 - SLACK, name


def test_figures_are_byte_identical_when_drawn_again(figures: dict[str, Figure]) -> None:
    for name, figure in figures.items():
        assert plots.png_bytes(figure) == plots.png_bytes(figure), name


def test_placeholder_wraps_a_long_reason_inside_the_figure() -> None:
    finding = analyze().finding("score_components")
    words = " ".join(f"word{i}" for i in range(60))
    long = dataclasses.replace(finding, verdict_reason=f"invented reason: {words}")
    figure = plots.score_components(analyze().dataset, long)
    (text,) = figure.texts
    expected = f"{long.title}: not computable invented reason: {words}"
    assert text.get_text().split() == expected.split()
    assert text.get_text().count("\n") >= 2
    renderer = _drawn(figure)
    box = text.get_window_extent(renderer)
    assert box.x0 >= 0 and box.x1 <= figure.bbox.width


def test_placeholder_keeps_a_short_reason_on_one_line() -> None:
    finding = analyze().finding("reward_trajectories")
    (text,) = plots.reward_trajectories(analyze().dataset, finding).texts
    assert text.get_text() == f"{finding.title}: not computable\n{finding.verdict_reason}"




@pytest.mark.filterwarnings("ignore:constrained_layout not applied")
def test_a_300_character_model_name_draws(tmp_path: Path) -> None:
    """INVENTED data: one bundled model renamed to 300 characters. The old margin fitter
    raised ("left cannot be >= right"); constrained layout draws every figure, and the name
    is shortened to 40 characters, its start and end around an ellipsis (issue 15)."""
    data = TESTS_DIR.parent / "data"
    results = pd.read_csv(data / "results.csv")
    models = pd.read_csv(data / "models.csv")
    long = "m" * 300
    for frame in (results, models):
        frame["model"] = frame["model"].where(frame["model"] != frame["model"].iloc[0], long)
    results.to_csv(tmp_path / "results.csv", index=False, lineterminator="\n")
    models.to_csv(tmp_path / "models.csv", index=False, lineterminator="\n")
    (tmp_path / "tasks.csv").write_bytes((data / "tasks.csv").read_bytes())
    figures = _figures(tmp_path)
    for name, figure in figures.items():
        assert plots.png_bytes(figure).startswith(b"\x89PNG"), name
    ticks = [t.get_text() for t in figures["leaderboard"].axes[0].get_yticklabels()]
    assert "m" * 26 + "…" + "m" * 13 in ticks
