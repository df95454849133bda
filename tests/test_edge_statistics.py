"""Edge cases of the statistics, run end to end through the command with warnings as errors.

Tiny invented data sets (one or two models, constant columns, a difficulty level with no tasks,
models of unknown size, ties, zero steps, a missing result): undefined statistics are null with
a reason, the verdicts whose rules need them are not_computable, and no NaN or inf reaches the
JSON, the markdown or the console.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from collections.abc import Callable, Sequence
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from _reliability import run_command

from teamforge_analysis.cli import main

LEVELS3 = (("t_easy", "easy", 0.2), ("t_medium", "medium", 0.35), ("t_hard", "hard", 0.45))
NOT_FINITE = re.compile(r"\b(nan|inf|infinity)\b", re.IGNORECASE)
# One figure per finding plus the leaderboard (the finding ids come from the report).
FIGURES = {"leaderboard.png", "scale_vs_difficulty.png", "step_efficiency.png",
           "test_pass_vs_score.png", "hard_task_boundary.png", "score_components.png",
           "planning_depth_vs_success.png", "reward_trajectories.png"}

Cell = Callable[[int, int], tuple[float, int, float, bool]]  # (model i, task j) -> values


def write_data(folder: Path, sizes: dict[str, float | None],
               tasks: Sequence[tuple[str, str, float]], cell: Cell,
               skip: set[tuple[str, str]] = frozenset()) -> Path:
    """Invented data: one row per model and task (except ``skip``), values from ``cell``."""
    folder.mkdir(parents=True)
    (folder / "models.csv").write_text("model,params_b\n" + "".join(
        f"{m},{'' if s is None else s}\n" for m, s in sizes.items()))
    (folder / "tasks.csv").write_text("task,difficulty,weight,pass_threshold\n" + "".join(
        f"{t},{d},{w},0.7\n" for t, d, w in tasks))
    rows = []
    for i, model in enumerate(sizes):
        for j, (task, _, _) in enumerate(tasks):
            if (model, task) not in skip:
                score, steps, test_pass, passed = cell(i, j)
                rows.append(f"{model},{task},{score:.6g},{steps},{test_pass:.6g},"
                            f"{str(passed).lower()}\n")
    (folder / "results.csv").write_text("model,task,score,steps,test_pass,passed\n" + "".join(rows))
    return folder


def varied(i: int, j: int) -> tuple[float, int, float, bool]:
    """Values that vary by model and task, without exact linear relations."""
    score = round(0.1 + 0.12 * i + 0.1 * j + 0.037 * ((i * 7 + j * 3) % 5), 6)
    steps = 10 + 7 * j + (i * 5 + j * j * 3) % 11
    test_pass = round(min(1.0, score + 0.05 * ((i + 2 * j) % 3)), 6)
    return score, steps, test_pass, score >= 0.7


SIZES5 = {"m_a": 3.0, "m_b": 8.0, "m_c": 14.0, "m_d": 46.7, "m_e": 70.0}

SCENARIOS: dict[str, dict[str, Any]] = {
    "one_model": dict(sizes={"m_a": 8.0}, tasks=LEVELS3, cell=varied),
    "two_models": dict(sizes={"m_a": 8.0, "m_b": 70.0}, tasks=LEVELS3, cell=varied),
    "constant_scores": dict(sizes=SIZES5, tasks=LEVELS3,
                            cell=lambda i, j: (0.5, varied(i, j)[1], 0.5, False)),
    "constant_sizes": dict(sizes=dict.fromkeys(SIZES5, 8.0), tasks=LEVELS3, cell=varied),
    "no_medium_level": dict(sizes=SIZES5, tasks=(("t_easy", "easy", 0.4), ("t_hard", "hard", 0.6)),
                            cell=varied),
    "only_hard_level": dict(sizes=SIZES5, tasks=(("t_h1", "hard", 0.5), ("t_h2", "hard", 0.5)),
                            cell=varied),
    "no_known_size": dict(sizes=dict.fromkeys(SIZES5), tasks=LEVELS3, cell=varied),
    "one_unknown_size": dict(sizes={**SIZES5, "m_c": None}, tasks=LEVELS3, cell=varied),
    "ties": dict(sizes={"m_a": 8.0, "m_b": 8.0, "m_c": 70.0, "m_d": 70.0, "m_e": 70.0},
                 tasks=LEVELS3, cell=lambda i, j: varied(min(i, 1), j)),
    "zero_easy_steps": dict(sizes=SIZES5, tasks=LEVELS3,
                            cell=lambda i, j: (*varied(i, j)[:1], 0 if j == 0 else varied(i, j)[1],
                                               *varied(i, j)[2:])),
    "missing_result": dict(sizes=SIZES5, tasks=LEVELS3, cell=varied, skip={("m_c", "t_hard")}),
}


def run_scenario(name: str, root: Path, output_format: str) -> tuple[dict, str, str]:
    """Run the command on scenario ``name`` under ``root``: (findings.json, findings.md, stdout)."""
    spec = SCENARIOS[name]
    data = write_data(root / "data", spec["sizes"], spec["tasks"], spec["cell"],
                      spec.get("skip", set()))
    # Figures do not depend on the output format: drawn once per scenario, in the json run.
    draw = output_format == "json"
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(), redirect_stdout(out), redirect_stderr(err):
        warnings.simplefilter("error")  # any numpy/scipy/pandas/matplotlib warning fails
        status = main(["--data", str(data), "--out", str(root / "results"),
                       "--figures", str(root / "figures"), "--format", output_format,
                       *([] if draw else ["--no-figures"])])
    assert status == 0, err.getvalue()
    assert err.getvalue() == ""
    json_text = (root / "results" / "findings.json").read_text(encoding="utf-8")
    document = json.loads(json_text, parse_constant=_reject)
    markdown = (root / "results" / "findings.md").read_text(encoding="utf-8")
    for text in (json_text, markdown, out.getvalue()):
        assert not NOT_FINITE.search(text), NOT_FINITE.search(text)
    if draw:  # a not computable finding has no figure
        drawn = {"leaderboard.png"} | {f"{f['id']}.png" for f in document["findings"]
                                       if f["verdict"] != "not_computable"}
        assert drawn <= FIGURES
        assert {p.name for p in (root / "figures").iterdir()} == drawn
    return document, markdown, out.getvalue()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Callable[[str, str], tuple[dict, str, str]]:
    """Each scenario runs once per output format in this module."""
    runs: dict[tuple[str, str], tuple[dict, str, str]] = {}

    def run(name: str, output_format: str = "json") -> tuple[dict, str, str]:
        if (name, output_format) not in runs:
            root = tmp_path_factory.mktemp(f"{name}-{output_format}")
            runs[name, output_format] = run_scenario(name, root, output_format)
        return runs[name, output_format]
    return run


def _reject(constant: str) -> None:
    raise AssertionError(f"{constant} in findings.json")


def nulls_have_reasons(node: Any, path: str = "") -> list[str]:
    """Paths of objects with a ``reason`` field, some null field and no reason."""
    bad = []
    if isinstance(node, dict):
        if "reason" in node and not node["reason"]:
            nulls = [k for k, v in node.items() if v is None and k != "reason"]
            if nulls:
                bad.append(f"{path}: {nulls}")
        if node.get("verdict") == "not_computable" and not node.get("verdict_reason"):
            bad.append(f"{path}: not_computable without a reason")
        for key, value in node.items():
            bad += nulls_have_reasons(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            bad += nulls_have_reasons(value, f"{path}[{i}]")
    return bad


def finding(document: dict, finding_id: str) -> dict:
    return next(f for f in document["findings"] if f["id"] == finding_id)


@pytest.mark.parametrize("output_format", ["text", "json"])  # markdown = findings.md
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_edge_case_is_clean_end_to_end(name, output_format, scenario):
    document, _, _ = scenario(name, output_format)
    assert nulls_have_reasons(document) == []


def test_one_model(scenario):
    document, _, _ = scenario("one_model")
    scale = finding(document, "scale_vs_difficulty")
    assert scale["verdict"] == "not_computable"
    for corr in scale["statistics"]["by_difficulty"].values():
        assert corr["n"] == 1 and corr["r"] is None and "n = 1" in corr["reason"]
    assert finding(document, "test_pass_vs_score")["verdict"] == "not_computable"
    assert [row["rank"] for row in document["leaderboard"]] == [1]


def test_two_models(scenario):
    document, _, _ = scenario("two_models")
    scale = finding(document, "scale_vs_difficulty")
    assert scale["verdict"] == "not_computable"
    assert all(c["r"] is None and "n = 2" in c["reason"]
               for c in scale["statistics"]["by_difficulty"].values())


def test_constant_scores(scenario):
    document, _, _ = scenario("constant_scores")
    scale = finding(document, "scale_vs_difficulty")
    assert scale["verdict"] == "not_computable"
    assert all("constant" in c["reason"] for c in scale["statistics"]["by_difficulty"].values())
    assert finding(document, "test_pass_vs_score")["verdict"] == "not_computable"


def test_constant_sizes(scenario):
    document, _, _ = scenario("constant_sizes")
    scale = finding(document, "scale_vs_difficulty")
    assert scale["verdict"] == "not_computable"
    assert all("constant" in c["reason"] for c in scale["statistics"]["by_difficulty"].values())


def test_difficulty_level_without_tasks(scenario):
    document, _, _ = scenario("no_medium_level")
    scale = finding(document, "scale_vs_difficulty")
    assert list(scale["statistics"]["by_difficulty"]) == ["easy", "hard"]
    steps = finding(document, "step_efficiency")
    assert steps["verdict"] == "not_computable"
    assert "three levels" in steps["verdict_reason"] and "easy and hard" in steps["verdict_reason"]


def test_single_difficulty_level(scenario):
    document, _, _ = scenario("only_hard_level")
    assert finding(document, "scale_vs_difficulty")["verdict"] == "not_computable"
    assert finding(document, "step_efficiency")["verdict"] == "not_computable"


def test_no_model_of_known_size(scenario):
    document, _, _ = scenario("no_known_size")
    scale = finding(document, "scale_vs_difficulty")
    assert scale["verdict"] == "not_computable"
    assert scale["statistics"]["models_without_size"] == sorted(SIZES5)
    assert finding(document, "hard_task_boundary")["verdict"] == "not_computable"


def test_one_model_of_unknown_size_is_left_out_and_named(scenario):
    document, _, _ = scenario("one_unknown_size")
    scale = finding(document, "scale_vs_difficulty")
    assert scale["statistics"]["models_without_size"] == ["m_c"]
    assert all(c["n"] == 4 for c in scale["statistics"]["by_difficulty"].values())
    assert "m_c" in scale["text"]


def test_ties_share_the_lower_rank(scenario):
    document, _, _ = scenario("ties")
    board = [(row["rank"], row["model"]) for row in document["leaderboard"]]
    # m_b..m_e have identical results (cell(min(i, 1), j)); m_a is worse: hand-ranked.
    assert board == [(1, "m_b"), (1, "m_c"), (1, "m_d"), (1, "m_e"), (5, "m_a")]


def test_zero_easy_steps_give_null_degradation(scenario):
    document, _, _ = scenario("zero_easy_steps")
    by_model = finding(document, "step_efficiency")["statistics"]["by_model"]
    assert all(entry["easy"] == 0 and entry["degradation_pct"] is None
               for entry in by_model.values())


def test_missing_result(scenario):
    document, _, _ = scenario("missing_result")
    last = document["leaderboard"][-1]
    assert (last["model"], last["rank"], last["teamforge_score"]) == ("m_c", None, None)
    assert last["missing_tasks"] == ["t_hard"]
    assert finding(document, "hard_task_boundary")["statistics"]["passed"]["m_c"] is None


def test_edge_case_as_a_command_with_warnings_as_errors(tmp_path):
    """A fresh interpreter with -W error: nothing warns, not even at import."""
    spec = SCENARIOS["two_models"]
    write_data(tmp_path / "data", spec["sizes"], spec["tasks"], spec["cell"])
    done = run_command(["--data", "data", "--out", "results", "--figures", "figures"],
                       cwd=tmp_path, PYTHONWARNINGS="error")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert not NOT_FINITE.search(done.stdout)
