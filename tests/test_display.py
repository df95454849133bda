"""Objects display themselves in Jupyter: one-line reprs, well-formed HTML with their key
numbers, tidy frames, and a helpful error for an unknown finding id."""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from teamforge_analysis import analyze
from teamforge_analysis.analysis import Analysis

VOID = {"br", "hr", "img", "meta", "input", "link"}


class _Balanced(HTMLParser):
    """Checks that every opened tag is closed in order; collects the text."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag, f"</{tag}> closes nothing open"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def visible_text(markup: str) -> str:
    parser = _Balanced()
    parser.feed(markup)
    parser.close()
    assert parser.stack == [], f"unclosed tags: {parser.stack}"
    return "".join(parser.text)


@pytest.fixture(scope="module")
def result() -> Analysis:
    return analyze()


def test_reprs_are_one_short_line(result: Analysis) -> None:
    for obj in (result, *result.findings, result.uncertainty):
        text = repr(obj)
        assert "\n" not in text and len(text) < 200, text
    assert repr(result.finding("step_efficiency")).startswith(
        "Finding(id='step_efficiency', verdict='inconclusive'")


def test_analysis_html_shows_the_leaderboard_and_every_verdict(result: Analysis) -> None:
    text = visible_text(result._repr_html_())
    top = result.leaderboard.iloc[0]
    assert top["model"] in text and f"{top['teamforge_score']:.3f}" in text
    for finding in result.findings:
        assert finding.id in text
    assert "Caveats" in text


def test_finding_html_shows_its_numbers_and_verdict(result: Analysis) -> None:
    finding = result.finding("test_pass_vs_score")
    text = visible_text(finding._repr_html_())
    beyond = finding.statistics["beyond_construction"]
    assert f"r = {beyond['r']:.2f}" in text  # correlations: 2 decimals
    assert "Verdict: contradicted" in text and finding.claim in text


def test_html_escapes_names() -> None:
    from teamforge_analysis.display import table_html
    from teamforge_analysis.report import Table

    markup = table_html(Table("<b>caption</b>", ("model", "score"), (("<script>x", "0.5"),)))
    assert "<script>" not in markup and "&lt;script&gt;x" in markup
    assert "<script>x" in visible_text(markup)


def test_uncertainty_html_says_why_there_is_no_interval(result: Analysis) -> None:
    text = visible_text(result.uncertainty._repr_html_())
    assert "no interval can be estimated" in text
    assert "Paired comparisons" in text


def test_finding_to_frame_is_tidy(result: Analysis) -> None:
    frame = result.finding("scale_vs_difficulty").to_frame()
    assert list(frame.columns) == ["finding", "statistic", "value"]
    hard = frame.set_index("statistic").loc["by_difficulty.hard.r", "value"]
    assert hard == pytest.approx(
        result.finding("scale_vs_difficulty").statistics["by_difficulty"]["hard"]["r"])
    assert isinstance(result.uncertainty.to_frame(), pd.DataFrame)


def test_unknown_finding_id_lists_the_valid_ones(result: Analysis) -> None:
    with pytest.raises(KeyError, match="no finding 'scale'; the findings are "
                                       "scale_vs_difficulty, step_efficiency"):
        result.finding("scale")


def test_dataset_shows_its_counts_levels_and_files(result: Analysis) -> None:
    dataset = result.dataset
    text = repr(dataset)
    assert "\n" not in text and len(text) < 200
    assert text.startswith("Dataset(name='TeamForge (published results)', models=4, tasks=3")
    html_text = visible_text(dataset._repr_html_())
    assert "easy (1 task), medium (1 task), hard (1 task)" in html_text
    assert "results.csv" in html_text and "benchmark.json" in html_text


def test_statistics_results_show_one_line_and_html() -> None:
    from teamforge_analysis.inference import size_test
    from teamforge_analysis.stats import correlation

    for res in (correlation([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]), size_test([5, 6], [1, 2])):
        text = repr(res)
        assert "\n" not in text and len(text) < 200
        shown = visible_text(res._repr_html_())
        assert type(res).__name__ in shown
    assert "0.8" in visible_text(correlation([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])._repr_html_())


def test_data_tables_list_tasks_by_level_then_name() -> None:
    """Task names whose alphabetical order is not their levels' order (invented frames)."""
    from teamforge_analysis import Dataset
    from teamforge_analysis.report import data_tables

    tasks = pd.DataFrame({"task": ["a_top", "b_low", "c_mid", "d_low"],
                          "difficulty": ["expert", "basic", "middle", "basic"],
                          "difficulty_rank": [3, 1, 2, 1]})
    results = pd.DataFrame({"model": ["m"] * 4, "task": tasks["task"],
                            "score": [0.1, 0.9, 0.5, 0.8]})
    models = pd.DataFrame({"model": ["m"], "params_b": [7.0]})
    dataset = Dataset.from_frames(results, models, tasks)
    task_table, _, result_table = data_tables(dataset)
    order = ["b_low", "d_low", "c_mid", "a_top"]
    assert [row[0] for row in task_table.rows] == order
    assert [row[1] for row in result_table.rows] == order


def test_result_reprs_and_html_follow_the_precision_rule() -> None:
    """r and its interval to 2 decimals, p to 3 significant digits, d in steps to 2."""
    from teamforge_analysis.inference import mean_difference_interval
    from teamforge_analysis.stats import correlation

    result = correlation([1, 2, 3, 4, 5], [2, 1, 4, 3, 6])  # r = 0.82, p = 0.0877 by hand
    assert "r=0.82, p_value=0.0877, ci95=[-0.22, 0.99]" in repr(result)
    assert '<td style="text-align:right">0.82</td>' in result._repr_html_()
    effect = mean_difference_interval(np.array([2.0, 3.0, 2.0, 4.0]))
    assert "mean_d=2.75, ci95=[1.23, 4.27], median_d=2.50" in repr(effect)


def test_data_tables_show_small_declared_weights_and_say_when_runs_were_combined() -> None:
    """Invented frames: a weight of 0.0004 is not shown as 0; with two runs per cell the
    results table says its rows are the runs combined."""
    from teamforge_analysis import Dataset
    from teamforge_analysis.report import data_tables

    tasks = pd.DataFrame({"task": ["a", "b"], "difficulty": ["easy", "hard"],
                          "weight": [0.0004, 0.9996]})
    results = pd.DataFrame({"model": ["m"] * 4, "task": ["a", "a", "b", "b"],
                            "run": [1, 2, 1, 2], "score": [0.1, 0.3, 0.5, 0.7]})
    models = pd.DataFrame({"model": ["m"], "params_b": [7.0]})
    task_table, _, result_table = data_tables(Dataset.from_frames(results, models, tasks))
    weight = task_table.headers.index("weight")
    assert [row[weight] for row in task_table.rows] == ["0.0004", "0.9996"]
    assert result_table.caption.endswith("(the runs of results.csv combined by their mean)")
    assert [row[2] for row in result_table.rows] == ["0.200", "0.600"]
