"""Deterministic generator of synthetic TeamForge data folders of any size (benchmark data).

The data are INVENTED: they exist only to measure speed and memory at scale. They are shaped
like real TeamForge output so that every code path does real work:

- ``models.csv``: ``model, params_b, family`` (sizes log-uniform over 1-400 B parameters).
- ``tasks.csv``: ``task, difficulty, weight, pass_threshold``; difficulties spread over
  easy / medium / hard (a third each, easiest first); weights sum to 1 within the loader's
  tolerance (the last weight is 1 − the sum of the others, checked with ``math.fsum``).
- ``results.csv``: ``model, task, [run,] score, steps, test_pass, passed`` and, with
  ``components=True``, the grader components ``lint_score, efficiency_score, review_quality,
  reflection_quality``. The score is TeamForge's grader formula
  0.40·test_pass + 0.25·lint + 0.20·efficiency + 0.10·review + 0.05·reflection, clamped to
  [0.001, 0.999]; ``passed`` is score ≥ pass_threshold. A ``run`` column is written when
  runs > 1 (issue 5 format) unless ``fold_runs`` is set, for loaders that do not read runs
  yet: ``"tasks"`` writes each run as its own task (``<task>__r007``, the task's weight split
  evenly over its runs, so the TeamForge score is the mean over runs); ``"models"`` writes
  each run as its own model (``<model>__r007``, same size and family).
- an optional step log (``steps.parquet``, ``steps.jsonl`` or ``steps.csv``): ``model, task,
  run, step, action, reward, phase, tests_passed, tests_total``, one row per step of every
  episode (result row), as many steps as the row's ``steps``. Episodes start with their
  planning steps (plan_step), end with a commit, and more planning goes with higher scores.

Everything is drawn from ``numpy.random.default_rng(seed)`` in a fixed order and written in a
fixed row order, so the same arguments always give byte-identical files.

``shape="shuffled"`` (issue 12) is a second shape of the same data: rows in a random order
(seeded), scores with four decimals and test_pass with two. ``bad_cell=True`` writes a score
of 1.7 ten rows from the end (the error path).

Usage::

    python benchmarks/generate.py OUT_DIR --models 500 --tasks 20 --runs 100 [--steps parquet]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

# numpy and pandas are imported inside the functions that use them, so that benchmarks/run.py
# can import Size and stay small: a child process inherits its parent's peak RSS as its own
# ru_maxrss, which would spoil the memory measurements.
if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "ACTIONS",
    "DIFFICULTY_LEVELS",
    "PHASE_OF_ACTION",
    "GeneratedData",
    "Size",
    "build",
    "generate",
    "main",
]

DIFFICULTY_LEVELS = ("easy", "medium", "hard")

#: TeamForge's action types and the phase each belongs to.
PHASE_OF_ACTION = {
    "plan_step": "planning",
    "edit_file": "coding",
    "run_tests": "testing",
    "run_lint": "testing",
    "generate_review": "reviewing",
    "self_reflect": "reflecting",
    "request_iteration": "reflecting",
    "commit": "done",
}
ACTIONS = tuple(PHASE_OF_ACTION)

#: Actions between the planning steps and the final commit, with their probabilities.
_MIDDLE_ACTIONS = ("edit_file", "run_tests", "run_lint", "generate_review", "self_reflect",
                   "request_iteration")
_MIDDLE_PROBABILITIES = (0.40, 0.25, 0.10, 0.10, 0.10, 0.05)

#: TeamForge's grader weights (test pass rate first).
GRADER_WEIGHTS = {
    "test_pass": 0.40,
    "lint_score": 0.25,
    "efficiency_score": 0.20,
    "review_quality": 0.10,
    "reflection_quality": 0.05,
}
COMPONENTS = tuple(GRADER_WEIGHTS)[1:]

#: Weights are allocated in integer units of 1 / WEIGHT_UNITS before being written as floats.
WEIGHT_UNITS = 10**9
WEIGHT_SUM_TOLERANCE = 1e-9

STEP_FORMATS = ("parquet", "jsonl", "csv")
SHAPES = ("ordered", "shuffled")
FOLDS = (None, "tasks", "models")


@dataclass(frozen=True)
class Size:
    """What to generate. ``runs`` result rows per (model, task) cell."""

    models: int = 4
    tasks: int = 3
    runs: int = 1
    seed: int = 0
    steps: str | None = None  # None or one of STEP_FORMATS
    components: bool = False
    fold_runs: str | None = None  # None, "tasks" or "models"
    mean_steps: float = 30.0
    shape: str = "ordered"  # one of SHAPES
    bad_cell: bool = False

    def __post_init__(self) -> None:
        if self.models < 1 or self.tasks < 1 or self.runs < 1:
            raise ValueError("models, tasks and runs must be at least 1")
        if self.steps is not None and self.steps not in STEP_FORMATS:
            raise ValueError(f"steps must be one of {STEP_FORMATS} or None, not {self.steps!r}")
        if self.fold_runs not in FOLDS:
            raise ValueError(f"fold_runs must be one of {FOLDS}, not {self.fold_runs!r}")
        if self.shape not in SHAPES:
            raise ValueError(f"shape must be one of {SHAPES}, not {self.shape!r}")
        if self.mean_steps < 2:
            raise ValueError("mean_steps must be at least 2 (a plan or edit, then a commit)")

    @property
    def result_rows(self) -> int:
        return self.models * self.tasks * self.runs

    def slug(self) -> str:
        """A folder name that identifies these arguments (for caching generated data)."""
        parts = [f"m{self.models}", f"t{self.tasks}", f"r{self.runs}", f"s{self.seed}"]
        if self.steps:
            parts.append(f"steps-{self.steps}-{self.mean_steps:g}")
        if self.components:
            parts.append("components")
        if self.fold_runs == "tasks":
            parts.append("folded")
        elif self.fold_runs == "models":
            parts.append("folded-models")
        if self.shape != "ordered":
            parts.append(self.shape)
        if self.bad_cell:
            parts.append("bad-cell")
        return "_".join(parts)


@dataclass(frozen=True)
class GeneratedData:
    """Frames of one synthetic data set, as written (steps is None without a step log)."""

    size: Size
    results: pd.DataFrame
    models: pd.DataFrame
    tasks: pd.DataFrame
    steps: pd.DataFrame | None


def _names(prefix: str, count: int) -> np.ndarray:
    import numpy as np

    width = max(3, len(str(count)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, count + 1)], dtype=object)


def _weights(raw: np.ndarray) -> np.ndarray:
    """Weights proportional to ``raw`` whose float sum is 1 within the loader's tolerance.

    All but the last are whole multiples of 1 / WEIGHT_UNITS; the last is 1 − the sum of the
    others, so the written values (repr round-trips exactly) add up to 1 up to rounding.
    """
    import numpy as np

    units = np.floor(raw / raw.sum() * WEIGHT_UNITS).astype(np.int64)
    weights = units.astype(float) / WEIGHT_UNITS
    weights[-1] = 1.0 - math.fsum(weights[:-1])
    total = math.fsum(weights)
    if not (abs(total - 1.0) <= WEIGHT_SUM_TOLERANCE and weights[-1] > 0):
        raise AssertionError(f"weights sum to {total!r}")  # cannot happen for positive raw
    return weights


def _sigmoid(x: np.ndarray) -> np.ndarray:
    import numpy as np

    return 1.0 / (1.0 + np.exp(-x))


def build(size: Size) -> GeneratedData:
    """Draw one synthetic data set (frames only; :func:`generate` writes them)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(size.seed)
    n_models, n_tasks, n_runs = size.models, size.tasks, size.runs

    # Models: log-uniform size; ability grows with log size plus a model-specific part.
    model_names = _names("model-", n_models)
    log_size = rng.uniform(np.log(1.0), np.log(400.0), n_models)
    params_b = np.round(np.exp(log_size), 1)
    family = np.array([f"family-{k}" for k in rng.integers(1, 9, n_models)], dtype=object)
    ability = 0.9 * (log_size - log_size.mean()) / max(log_size.std(), 1e-9) \
        + 0.6 * rng.standard_normal(n_models)

    # Tasks: a third per difficulty level, easiest first.
    levels = np.array(DIFFICULTY_LEVELS, dtype=object)[np.arange(n_tasks) * 3 // n_tasks]
    task_names = np.array(
        [f"{lvl}_task_{i:0{max(2, len(str(n_tasks)))}d}" for i, lvl in enumerate(levels, 1)],
        dtype=object,
    )
    hardness = np.select([levels == "easy", levels == "medium"], [-1.2, 0.0], 1.2) \
        + 0.3 * rng.standard_normal(n_tasks)
    raw_weight = rng.uniform(0.5, 1.5, n_tasks) * np.select(
        [levels == "easy", levels == "medium"], [0.8, 1.0], 1.3)
    threshold = rng.choice([0.6, 0.7, 0.8], n_tasks)
    tests_total = rng.integers(8, 41, n_tasks)

    # Result rows in (model, task, run) order.
    m = np.repeat(np.arange(n_models), n_tasks * n_runs)
    t = np.tile(np.repeat(np.arange(n_tasks), n_runs), n_models)
    run = np.tile(np.arange(1, n_runs + 1), n_models * n_tasks)
    n_rows = m.size
    quality = _sigmoid(ability[m] - hardness[t] + 0.6 * rng.standard_normal(n_rows))
    passed_tests = rng.binomial(tests_total[t], np.clip(quality + 0.05, 0.0, 1.0))
    test_pass = passed_tests / tests_total[t]
    components = {
        name: np.round(np.clip(quality + 0.15 * rng.standard_normal(n_rows), 0.0, 1.0), 3)
        for name in COMPONENTS
    }
    raw_score = GRADER_WEIGHTS["test_pass"] * test_pass + sum(
        GRADER_WEIGHTS[name] * components[name] for name in COMPONENTS)
    decimals = (4, 2) if size.shape == "shuffled" else (3, 6)  # (score, test_pass)
    score = np.round(np.clip(raw_score, 0.001, 0.999), decimals[0])
    passed = score >= threshold[t]
    # Harder tasks take more steps; better episodes a few fewer.
    expected_steps = size.mean_steps * np.exp(0.25 * hardness[t] - 0.3 * (quality - 0.5))
    steps = np.maximum(2, rng.poisson(expected_steps))
    # Planning depth: more planning goes with better episodes; at least one non-plan step.
    depth = np.minimum(rng.poisson(0.5 + 4.0 * quality), steps - 1)

    run_width = max(3, len(str(n_runs)))
    row_model = model_names[m]
    models = pd.DataFrame({"model": model_names, "params_b": params_b, "family": family})
    def unfolded_tasks() -> pd.DataFrame:
        return pd.DataFrame({"task": task_names, "difficulty": levels,
                             "weight": _weights(raw_weight), "pass_threshold": threshold})

    if size.fold_runs == "tasks" and n_runs > 1:
        folded = np.array([f"{task}__r{r:0{run_width}d}" for task in task_names
                           for r in range(1, n_runs + 1)], dtype=object)
        row_task = folded[t * n_runs + (run - 1)]
        tasks = pd.DataFrame({
            "task": folded,
            "difficulty": np.repeat(levels, n_runs),
            "weight": _weights(np.repeat(raw_weight, n_runs)),
            "pass_threshold": np.repeat(threshold, n_runs),
        })
        run_column = None
        step_run = np.ones(n_rows, dtype=np.int64)
    elif size.fold_runs == "models" and n_runs > 1:
        folded = np.array([f"{model}__r{r:0{run_width}d}" for model in model_names
                           for r in range(1, n_runs + 1)], dtype=object)
        row_model = folded[m * n_runs + (run - 1)]
        models = pd.DataFrame({"model": folded, "params_b": np.repeat(params_b, n_runs),
                               "family": np.repeat(family, n_runs)})
        row_task = task_names[t]
        tasks = unfolded_tasks()
        run_column = None
        step_run = np.ones(n_rows, dtype=np.int64)
    else:
        row_task = task_names[t]
        tasks = unfolded_tasks()
        run_column = run if n_runs > 1 else None
        step_run = run.astype(np.int64)

    results = {"model": row_model, "task": row_task}
    if run_column is not None:
        results["run"] = run_column
    results.update({"score": score, "steps": steps, "test_pass": np.round(test_pass, decimals[1]),
                    "passed": passed})
    if size.components:
        results.update(components)
    results_frame = pd.DataFrame(results)
    if size.bad_cell:
        results_frame.loc[n_rows - 10, "score"] = 1.7
    if size.shape == "shuffled":  # (its own generator: the other draws stay as they were)
        order = np.random.default_rng(size.seed + 1).permutation(n_rows)
        results_frame = results_frame.take(order).reset_index(drop=True)

    step_frame = None
    if size.steps is not None:
        step_frame = _step_log(rng, row_model, row_task, step_run, steps, depth,
                               passed_tests, tests_total[t], quality)
    return GeneratedData(size, results_frame, models, tasks, step_frame)


def _step_log(rng: np.random.Generator, model: np.ndarray, task: np.ndarray, run: np.ndarray,
              length: np.ndarray, depth: np.ndarray, final_passed: np.ndarray,
              tests_total: np.ndarray, quality: np.ndarray) -> pd.DataFrame:
    """One row per step of every episode, built without a Python loop over episodes."""
    import numpy as np
    import pandas as pd

    total = int(length.sum())
    episode = np.repeat(np.arange(length.size), length)
    starts = np.cumsum(length) - length
    step = np.arange(total) - np.repeat(starts, length) + 1
    episode_length = length[episode]

    middle = rng.choice(len(_MIDDLE_ACTIONS), size=total, p=_MIDDLE_PROBABILITIES)
    action_code = np.where(step <= depth[episode], 0, middle + 1)  # 0 = plan_step
    action_code = np.where(step == episode_length, len(ACTIONS) - 1, action_code)  # commit
    actions = np.array(("plan_step", *_MIDDLE_ACTIONS, "commit"), dtype=object)
    phases = np.array([PHASE_OF_ACTION[a] for a in actions], dtype=object)

    # Tests pass progressively, reaching the row's final count at the last step.
    position = (step - 1) / (episode_length - 1)
    curve = rng.uniform(0.5, 3.0, length.size)[episode]
    tests_passed = np.floor(final_passed[episode] * position**curve).astype(np.int64)
    gained = np.diff(tests_passed, prepend=0)
    gained[starts] = tests_passed[starts]
    # Dense reward: progress on tests, a small bonus for planning in good episodes, noise.
    reward = (gained / tests_total[episode]
              + np.where(action_code == 0, 0.02 * quality[episode], 0.0)
              - np.where(action_code == 6, 0.02, 0.0)  # request_iteration
              + 0.01 * rng.standard_normal(total))
    return pd.DataFrame({
        "model": model[episode],
        "task": task[episode],
        "run": run[episode],
        "step": step.astype(np.int64),
        "action": actions[action_code],
        "reward": np.round(reward, 5),
        "phase": phases[action_code],
        "tests_passed": tests_passed,
        "tests_total": tests_total[episode].astype(np.int64),
    })


def write(data: GeneratedData, folder: str | Path) -> Path:
    """Write ``data`` into ``folder`` (created if needed); returns the folder."""
    import numpy as np

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data.models.to_csv(folder / "models.csv", index=False, lineterminator="\n")
    data.tasks.to_csv(folder / "tasks.csv", index=False, lineterminator="\n")
    results = data.results.assign(passed=np.where(data.results["passed"], "true", "false"))
    results.to_csv(folder / "results.csv", index=False, lineterminator="\n")
    if data.steps is not None:
        fmt = data.size.steps
        path = folder / f"steps.{fmt}"
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(data.steps, preserve_index=False)
            pq.write_table(table, path, compression="snappy")
        elif fmt == "jsonl":
            data.steps.to_json(path, orient="records", lines=True)
        else:
            data.steps.to_csv(path, index=False, lineterminator="\n")
    counts = {"result_rows": len(data.results),
              "step_rows": None if data.steps is None else len(data.steps)}
    (folder / "GENERATED.json").write_text(
        json.dumps({"generator": "benchmarks/generate.py", "invented_data": True,
                    **asdict(data.size), **counts}, indent=2) + "\n")
    return folder


def generate(folder: str | Path, size: Size | None = None, **options: object) -> Path:
    """Build and write a synthetic data folder.

    Examples
    --------
    >>> import tempfile
    >>> out = generate(tempfile.mkdtemp(), Size(models=3, tasks=3, runs=2))
    >>> sorted(p.name for p in out.iterdir())
    ['GENERATED.json', 'models.csv', 'results.csv', 'tasks.csv']
    """
    if size is None:
        size = Size(**options)  # type: ignore[arg-type]
    elif options:
        raise TypeError("pass either a Size or keyword options, not both")
    return write(build(size), folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write (created if needed)")
    parser.add_argument("--models", type=int, default=Size.models)
    parser.add_argument("--tasks", type=int, default=Size.tasks)
    parser.add_argument("--runs", type=int, default=Size.runs)
    parser.add_argument("--seed", type=int, default=Size.seed)
    parser.add_argument("--steps", choices=STEP_FORMATS, default=None,
                        help="also write a step log in this format")
    parser.add_argument("--mean-steps", type=float, default=Size.mean_steps,
                        help="average episode length (steps per result row)")
    parser.add_argument("--components", action="store_true",
                        help="add the grader component columns to results.csv")
    parser.add_argument("--shape", choices=SHAPES, default=Size.shape,
                        help="shuffled: rows in a random order, 4-decimal scores, 2-decimal "
                        "test_pass")
    parser.add_argument("--bad-cell", action="store_true",
                        help="a score of 1.7 ten rows from the end")
    parser.add_argument("--fold-runs", choices=("tasks", "models"), default=None,
                        help="write runs as distinct task (or model) names instead of a run "
                        "column")
    args = parser.parse_args(argv)
    try:
        size = Size(models=args.models, tasks=args.tasks, runs=args.runs, seed=args.seed,
                    steps=args.steps, components=args.components, fold_runs=args.fold_runs,
                    mean_steps=args.mean_steps, shape=args.shape, bad_cell=args.bad_cell)
    except ValueError as exc:
        parser.error(str(exc))
    data = build(size)
    write(data, args.out)
    steps = "" if data.steps is None else f", {len(data.steps):,} step rows"
    print(f"{args.out}: {len(data.results):,} result rows{steps}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
