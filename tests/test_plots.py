"""Figures: layout (every text inside the figure, labels outside the plotting area), and that
each draws its finding's own statistics, checked against numbers computed here by hand from the
data files. No timing here: speed lives in benchmarks/."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
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
        figure = finding.figure()
        if figure is not None:  # (a not computable finding has none)
            figures[finding.id] = figure
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


# ----------------------------------------------------------------------------------------------
# Each figure draws its finding's statistics (numbers by hand from the data files)
# ----------------------------------------------------------------------------------------------
def _by_gid(ax: Any, gid: str) -> list[Any]:
    return [a for a in (*ax.lines, *ax.collections, *ax.patches) if a.get_gid() == gid]


def _bundled_cells() -> pd.DataFrame:
    """results.csv with each task's level: the bundled data have one task per level, so a
    model's level score is its score on that task."""
    data = TESTS_DIR.parent / "data"
    tasks = pd.read_csv(data / "tasks.csv")
    return pd.read_csv(data / "results.csv").merge(tasks, on="task")


def test_not_computable_findings_get_no_figure() -> None:
    for data, ids in ((None, {"score_components", "planning_depth_vs_success",
                              "reward_trajectories"}),
                      (RUNS_DIR, {"scale_vs_difficulty"})):
        result = analyze(data)
        for finding in result.findings:
            figure = finding.figure()
            assert (finding.verdict == "not_computable") == (finding.id in ids), finding.id
            assert (figure is None) == (finding.id in ids), finding.id


def test_scale_figure_draws_the_findings_r_and_difference() -> None:
    result = analyze()
    finding = result.finding("scale_vs_difficulty")
    stats = finding.statistics
    figure = finding.figure()
    slope_ax, r_ax, diff_ax = figure.axes
    for level, corr in stats["by_difficulty"].items():
        (line,) = _by_gid(r_ax, f"r:{level}")
        assert line.get_ydata()[0] == pytest.approx(corr["r"], abs=1e-12)
    (diff,) = _by_gid(diff_ax, "hard_minus_easy")
    assert diff.get_ydata()[0] == pytest.approx(stats["hard_minus_easy"]["difference"])
    # A slope per model through its level scores, easiest to hardest, every model named.
    cells = _bundled_cells()
    cells = cells.sort_values("difficulty", key=lambda d: d.map(
        {"easy": 0, "medium": 1, "hard": 2}), kind="stable")
    assert [t.get_text() for t in slope_ax.get_xticklabels()] == ["easy", "medium", "hard"]
    names = " ".join(t.get_text() for t in slope_ax.texts)
    for model, rows in cells.groupby("model"):
        (line,) = _by_gid(slope_ax, f"slope:{model}")
        assert list(line.get_ydata()) == pytest.approx(rows["score"].tolist())
        assert model in names
    assert "(linear)" in r_ax.get_ylabel()  # the axis the statistic uses


def test_step_figure_draws_each_d_and_the_findings_mean_d() -> None:
    result = analyze()
    finding = result.finding("step_efficiency")
    effect = finding.statistics["effect"]
    (ax,) = finding.figure().axes
    steps = _bundled_cells().pivot(index="model", columns="difficulty", values="steps")
    by_hand = (steps["medium"] - steps["easy"]) - (steps["hard"] - steps["medium"])
    (points,) = _by_gid(ax, "d_per_model")
    assert sorted(points.get_offsets()[:, 0]) == pytest.approx(sorted(by_hand))
    (mean,) = _by_gid(ax, "mean_d")
    assert mean.get_xdata()[0] == effect["mean_d"] == pytest.approx(by_hand.mean())
    (band,) = _by_gid(ax, "mean_d_ci")
    assert band.get_x() == pytest.approx(effect["ci95"][0])
    assert band.get_x() + band.get_width() == pytest.approx(effect["ci95"][1])
    assert [line for line in ax.lines if list(line.get_xdata()) == [0, 0]]  # the zero line


@pytest.mark.parametrize("data", [None, OTHER_DATA_DIR, RUNS_DIR])  # (RUNS_DIR: 3 runs a cell)
def test_test_pass_figure_points_correlate_at_the_findings_partial_r(data: Path | None
                                                                    ) -> None:
    result = analyze(data)
    finding = result.finding("test_pass_vs_score")
    beyond = finding.statistics["beyond_construction"]
    (ax,) = finding.figure().axes
    models = set(result.dataset.results["model"])
    groups = {a.get_gid(): a.get_offsets() for a in ax.collections}
    assert set(groups) == {f"cells:{m}" for m in models}  # one marker set per model
    points = np.vstack(list(groups.values()))
    assert len(points) == beyond["n"]
    assert np.corrcoef(points[:, 0], points[:, 1])[0, 1] == pytest.approx(beyond["r"], abs=1e-9)
    assert f"{beyond['r']:.2f}" in figure_title(ax)


def figure_title(ax: Any) -> str:
    return ax.figure.get_suptitle()


@pytest.mark.parametrize("data", [None, OTHER_DATA_DIR])
def test_boundary_figure_draws_the_findings_threshold_and_scores(data: Path | None) -> None:
    result = analyze(data)
    finding = result.finding("hard_task_boundary")
    stats = finding.statistics
    (ax,) = finding.figure().axes
    (line,) = _by_gid(ax, "level_threshold")
    assert list(line.get_ydata()) == [stats["level_threshold"]] * 2
    # A threshold is on the score scale: three decimals, as in the finding's text.
    assert any(f"threshold {stats['level_threshold']:.3f} " in t.get_text() for t in ax.texts)
    drawn = sorted(np.concatenate([c.get_offsets()[:, 1] for gid in ("hardest:passed",
                                   "hardest:failed") for c in _by_gid(ax, gid)]))
    sized = result.dataset.models.dropna(subset=["params_b"])["model"]
    assert drawn == pytest.approx(sorted(stats["level_scores"][m] for m in sized))
    # Every level drawn: one dot set per easier level besides the hardest's two.
    assert len(ax.collections) == len(result.dataset.levels) - 1 + 2
    title = figure_title(ax)
    test = stats["size_test"]
    assert (f"p = {test['p_value']:.3g}" in title if test["p_value"] is not None
            else test["reason"] in title)


def test_reward_curve_ends_at_the_mean_final_total_by_hand() -> None:
    result = analyze(RUNS_DIR)
    finding = result.finding("reward_trajectories")
    (ax,) = finding.figure().axes
    steps = pd.read_json(RUNS_DIR / "steps.jsonl", lines=True)
    steps["run"] = steps["run"] if "run" in steps else 1
    level = pd.read_csv(RUNS_DIR / "tasks.csv").set_index("task")["difficulty"]
    totals = steps.groupby(["model", "task", "run"])["reward"].sum().reset_index()
    totals["difficulty"] = totals["task"].map(level)
    by_hand = totals.groupby("difficulty")["reward"].agg(["mean", "size"])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    for lvl, row in by_hand.iterrows():
        (line,) = _by_gid(ax, f"reward:{lvl}")
        assert line.get_xdata()[-1] == 1.0
        assert line.get_ydata()[-1] == pytest.approx(row["mean"], abs=1e-12)
        assert line.get_ydata()[-1] == pytest.approx(
            finding.statistics["by_difficulty"][lvl]["mean_total_reward"], abs=1e-12)
        assert f"{lvl} (n = {int(row['size'])} episodes)" in legend
    assert legend[:3] == [t for lvl in ("easy", "medium", "hard") for t in legend
                          if t.startswith(lvl)]  # levels in rank order


def test_reward_bands_average_the_same_episodes_at_every_position() -> None:
    from teamforge_analysis.steps import reward_bands

    result = analyze(RUNS_DIR)
    bands = reward_bands(result.dataset.steps, result.dataset.tasks, points=11)
    steps = result.dataset.steps
    level = steps["task"].map(result.dataset.tasks.set_index("task")["difficulty"])
    grid = np.linspace(0, 1, 11)
    curves: dict[str, list[np.ndarray]] = {}
    for _, episode in steps.groupby(["model", "task", "run"]):  # np.interp, one at a time
        span = episode["step"].max() - episode["step"].min()
        position = (episode["step"] - episode["step"].min()) / span if span else [1.0]
        curves.setdefault(level[episode.index[0]], []).append(
            np.interp(grid, position, episode["reward"].cumsum()))
    for lvl, values in curves.items():
        rows = bands[bands["difficulty"] == lvl]
        assert (rows["episodes"] == len(values)).all()
        assert rows["mean_cumulative_reward"].to_numpy() == pytest.approx(
            np.mean(values, axis=0), abs=1e-12)
        half = 2.306004135 * np.std(values, axis=0, ddof=1) / 3  # t(0.975, 8), n = 9
        assert rows["ci_high"].to_numpy() == pytest.approx(np.mean(values, axis=0) + half)


def test_planning_figure_hides_no_point() -> None:
    result = analyze(RUNS_DIR)
    finding = result.finding("planning_depth_vs_success")
    figure = finding.figure()
    _drawn(figure)
    (ax,) = figure.axes
    points = np.vstack([ax.transData.transform(c.get_offsets()) for c in ax.collections])
    assert len(points) == finding.statistics["episodes"]
    distance = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(distance, np.inf)
    radius = np.sqrt(24) / 2 * figure.dpi / 72  # marker size 24 pt²
    assert distance.min() >= radius  # no marker covers another's centre


def test_figures_are_crisp_and_no_text_is_under_9_points(figures: dict[str, Figure]) -> None:
    for name, figure in figures.items():
        png = plots.png_bytes(figure)
        width = int.from_bytes(png[16:20], "big")  # the IHDR chunk's width
        assert width == round(figure.get_figwidth() * 200), name
        for text in _texts(figure):
            assert text.get_fontsize() >= 9, (name, text.get_text())


def test_figures_display_inline_without_setup_as_the_commands_bytes() -> None:
    from IPython.core.formatters import DisplayFormatter

    result = analyze()
    figure = result.finding("step_efficiency").figure()
    data, _ = DisplayFormatter().format(figure)
    assert data["image/png"] == plots.png_bytes(figure)


def test_the_command_removes_a_stale_figure_of_a_not_computable_finding(tmp_path: Path
                                                                        ) -> None:
    from teamforge_analysis.cli import main

    figures = tmp_path / "figures"
    figures.mkdir()
    (figures / "reward_trajectories.png").write_bytes(b"from an earlier run")
    (figures / "notes.txt").write_bytes(b"not the command's")
    assert main(["--out", str(tmp_path / "results"), "--figures", str(figures),
                 "--format", "json"]) == 0
    assert {p.name for p in figures.iterdir()} == {
        "notes.txt", "leaderboard.png", "scale_vs_difficulty.png", "step_efficiency.png",
        "test_pass_vs_score.png", "hard_task_boundary.png"}


def test_odd_names_are_drawn_as_typed_in_every_figure(tmp_path: Path) -> None:
    """INVENTED names with ``$`` and markup: no figure text is read as mathtext, and a model
    named ``_key``-like still shows in a legend."""
    from test_names_and_outputs import ODD_NAMES, renamed_data

    models, tasks = ODD_NAMES["markup"]
    figures = _figures(renamed_data(tmp_path / "data", models, tasks))
    for name, figure in figures.items():
        plots.png_bytes(figure)
        for text in _texts(figure):
            assert text._preprocess_math(text.get_text())[1] is False, (name, text.get_text())
    legend = [t.get_text() for t in figures["test_pass_vs_score"].legends[0].get_texts()]
    assert len([t for t in legend if t != "least-squares line"]) == len(models)


def test_boundary_names_stay_inside_the_axes(figures: dict[str, Figure]) -> None:
    figure = figures["hard_task_boundary"]
    renderer = _drawn(figure)
    (ax,) = figure.axes
    assert ax.texts  # the threshold's label and the names
    for text in ax.texts:
        box = text.get_window_extent(renderer)
        assert ax.bbox.x0 - SLACK <= box.x0 and box.x1 <= ax.bbox.x1 + SLACK, text.get_text()
        assert ax.bbox.y0 - SLACK <= box.y0 and box.y1 <= ax.bbox.y1 + SLACK, text.get_text()


def test_up_to_90_models_get_distinct_colour_and_marker_pairs() -> None:
    styles = plots.model_styles([f"m{i}" for i in range(90)])
    assert len({(s["color"], s["marker"]) for s in styles.values()}) == 90
    assert len({s["marker"] for s in list(styles.values())[:9]}) == 9  # the first differ in both
