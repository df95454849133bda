"""How the INVENTED runs_benchmark data set was generated (kept for provenance only).

The tests never run this script: they read the committed files and work out every expected
value from their raw rows. Re-running it rewrites the files identically (fixed seed), after
which the hand edits listed in README.md are applied by ``apply_hand_edits`` below.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = int(__import__("os").environ.get("SEED", 517))
MODELS = {"alder-3b": (3.0, 0.40), "basalt-20b": (20.0, 0.58), "cobalt-60b": (60.0, 0.74)}
TASKS = {  # task: (difficulty, weight, ability offset, tests in the suite)
    "easy_fix_typo": ("easy", 0.25, 0.18, 10),
    "medium_split_module": ("medium", 0.35, 0.0, 20),
    "hard_trie_index": ("hard", 0.40, -0.16, 30),
}
GRADER = (0.40, 0.25, 0.20, 0.10, 0.05)
PHASE = {"plan_step": "planning", "edit_file": "coding", "run_tests": "testing",
         "run_lint": "testing", "generate_review": "reviewing", "self_reflect": "reflecting",
         "request_iteration": "reflecting", "commit": "done"}
BASE_REWARD = {"plan_step": 0.02, "edit_file": 0.01, "run_lint": 0.01, "generate_review": 0.02,
               "self_reflect": 0.01, "request_iteration": -0.03}


def clip01(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def episode(rng: np.random.Generator, ability: float, plan: int, n_tests: int,
            final_pass: float) -> list[dict]:
    actions = ["plan_step"] * plan
    cycles = int(rng.integers(1, 4))
    for _ in range(cycles):
        actions += ["edit_file", "run_tests", "run_lint"]
    actions += ["generate_review", "self_reflect"]
    if rng.random() < 0.3:
        actions += ["request_iteration", "edit_file", "run_tests"]
    actions.append("commit")
    target = round(final_pass * n_tests)
    n_runs = actions.count("run_tests")
    passed, done_runs, rows = 0, 0, []
    for step, action in enumerate(actions, 1):
        reward = BASE_REWARD.get(action, 0.0)
        if action == "run_tests":
            done_runs += 1
            new = round(target * done_runs / n_runs)
            reward = 0.5 * (new - passed) / n_tests - 0.02
            passed = new
        elif action == "commit":
            reward = ability - 0.6  # a weak final solution is penalised on commit
        reward += float(rng.normal(0, 0.005))
        rows.append({"step": step, "action": action, "reward": round(reward, 4),
                     "phase": PHASE[action], "tests_passed": passed, "tests_total": n_tests})
    return rows


def main() -> None:
    rng = np.random.default_rng(SEED)
    results, steps = [], []
    for model, (_size, skill) in MODELS.items():
        for task, (_level, _weight, offset, n_tests) in TASKS.items():
            for run in (1, 2, 3):
                plan = int(rng.integers(0, 5))
                ability = clip01(skill + offset + 0.04 * plan + float(rng.normal(0, 0.07)))
                test_pass = round(clip01(ability + float(rng.normal(0.05, 0.08))), 2)
                if test_pass > 0.93:
                    test_pass = 1.0
                lint = round(clip01(0.55 + 0.4 * ability + float(rng.normal(0, 0.05))), 2)
                efficiency = round(clip01(ability + float(rng.normal(0, 0.1))), 2)
                review = round(clip01(0.5 + 0.4 * ability + float(rng.normal(0, 0.08))), 2)
                reflection = round(clip01(0.4 + 0.5 * ability + float(rng.normal(0, 0.1))), 2)
                raw = np.dot(GRADER, (test_pass, lint, efficiency, review, reflection))
                score = round(min(0.999, max(0.001, float(raw))), 4)
                rows = episode(rng, ability, plan, n_tests, test_pass)
                results.append({
                    "model": model, "task": task, "run": run, "score": score,
                    "steps": len(rows), "test_pass": test_pass,
                    "passed": "true" if score >= 0.70 else "false", "lint_score": lint,
                    "efficiency_score": efficiency, "review_quality": review,
                    "reflection_quality": reflection,
                })
                steps.extend({"model": model, "task": task, "run": run, **r} for r in rows)
    apply_hand_edits(results)
    order = rng.permutation(len(results))
    with open(HERE / "results.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(results[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(results[i] for i in order)
    # Episodes in shuffled order; the loader sorts them.
    keys = sorted({(s["model"], s["task"], s["run"]) for s in steps})
    episode_order = [keys[i] for i in rng.permutation(len(keys))]
    by_episode: dict = {}
    for s in steps:
        by_episode.setdefault((s["model"], s["task"], s["run"]), []).append(s)
    with open(HERE / "steps.jsonl", "w", encoding="utf-8") as handle:
        for key in episode_order:
            for s in by_episode[key]:
                handle.write(json.dumps(s) + "\n")


def apply_hand_edits(results: list[dict]) -> None:
    """The deliberate features the tests rely on (also listed in README.md)."""
    row = {(r["model"], r["task"], r["run"]): r for r in results}
    # 1. One score that does not follow the grader's formula (off by 0.08).
    bad = row[("basalt-20b", "medium_split_module", 2)]
    bad["score"] = round(bad["score"] + 0.08, 4)
    bad["passed"] = "true" if bad["score"] >= 0.70 else "false"
    # 2. One passed flag that disagrees with score >= 0.70.
    flag = row[("alder-3b", "easy_fix_typo", 3)]
    flag["passed"] = "false" if flag["passed"] == "true" else "true"
    # 3. A tie for the best run: run 3 repeats run 2's grades (best-of-N must pick run 2).
    tie_2 = row[("cobalt-60b", "easy_fix_typo", 2)]
    tie_3 = row[("cobalt-60b", "easy_fix_typo", 3)]
    for column in ("score", "test_pass", "lint_score", "efficiency_score", "review_quality",
                   "reflection_quality", "passed"):
        tie_3[column] = tie_2[column]


if __name__ == "__main__":
    main()
