"""Benchmarks of teamforge-analysis against floors measured on the same machine in the same run.

Every measurement is a ratio to a floor (issue 6): the time of the command against the time of
importing the libraries it needs, or the work of a large run (its time above its import floor)
against the work of reading the same files with pandas (above ``import pandas``). Each command
runs in a fresh Python process; commands of one measurement are alternated (A, B, B, A, ...)
and each is repeated, and the table shows medians.

    python benchmarks/run.py                  # everything (10M rows takes a few minutes)
    python benchmarks/run.py --quick          # fewer repetitions, a tenth of the sizes
    python benchmarks/run.py --only rows_1m   # one measurement (see --list)
    python benchmarks/run.py --skip-10m       # leave out the ten-million-row scaling case

Generated data folders are cached under ``.benchmarks/data/`` (git-ignored); the generator is
deterministic, so a cached folder is what the same arguments would generate again.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import Size

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".benchmarks" / "data"
PYTHON = sys.executable

FLOOR_FULL = "import pandas, scipy.stats, matplotlib.pyplot"
FLOOR_JSON = "import pandas, scipy.stats"
FLOOR_PANDAS = "import pandas"


# ----------------------------------------------------------------------------------------------
# Running children
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    seconds: float  # wall clock
    cpu_seconds: float  # user + system time of the child (less sensitive to other load)
    max_rss_mb: float
    reported: str = ""  # what the child printed, for commands that time themselves


class CommandFailed(RuntimeError):
    pass


def tool_command() -> list[str]:
    """The installed ``teamforge-analysis`` script next to this Python, else ``-m``."""
    script = Path(PYTHON).parent / "teamforge-analysis"
    return [str(script)] if script.exists() else [PYTHON, "-m", "teamforge_analysis"]


def run_once(command: Sequence[str], *, env: dict[str, str] | None = None,
             cwd: Path | None = None, capture: bool = False,
             allowed: Sequence[int] = (0,)) -> tuple[Sample, str]:
    """Run ``command`` once; wall time and the child's own peak RSS (``wait4``)."""
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        child = subprocess.Popen(list(command), stdout=out if capture else subprocess.DEVNULL,
                                 stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
        out.seek(0)
        stdout = out.read().decode("utf-8", "replace")
    if child.returncode not in allowed:
        tail = "\n".join(stderr.strip().splitlines()[-5:])
        raise CommandFailed(f"{' '.join(command)} exited with {child.returncode}:\n{tail}")
    # ru_maxrss is in kilobytes on Linux.
    cpu = usage.ru_utime + usage.ru_stime
    return Sample(seconds, cpu, usage.ru_maxrss / 1024), stdout if capture else stderr


def alternate(commands: dict[str, Sequence[str]], repetitions: int, *, warmup: bool = True,
              log: Callable[[str], None] = print,
              capture: Sequence[str] = (),
              allowed: dict[str, Sequence[int]] | None = None) -> dict[str, list[Sample]]:
    """Run every command ``repetitions`` times, alternating their order (ABC, CBA, ABC, ...).

    One untimed warm-up run of each first (page cache, bytecode caches). The stdout of the
    commands named in ``capture`` is kept in their samples.
    """
    names = list(commands)
    allowed = allowed or {}
    if warmup:
        for name in names:
            run_once(commands[name], allowed=allowed.get(name, (0,)))
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    for rep in range(repetitions):
        order = names if rep % 2 == 0 else names[::-1]
        for name in order:
            sample, out = run_once(commands[name], capture=name in capture,
                                   allowed=allowed.get(name, (0,)))
            if name in capture:
                sample = dataclasses.replace(sample, reported=out.strip())
            samples[name].append(sample)
        log(f"    rep {rep + 1}/{repetitions}: "
            + ", ".join(f"{n} {samples[n][-1].seconds:.2f}s" for n in names))
    return samples


def python_c(code: str) -> list[str]:
    return [PYTHON, "-c", code]


# ----------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Times:
    """Medians of one command's samples, wall clock and child CPU (user + system)."""

    wall: float
    cpu: float

    @classmethod
    def of(cls, samples: list[Sample]) -> Times:
        return cls(statistics.median(s.seconds for s in samples),
                   statistics.median(s.cpu_seconds for s in samples))

    def __sub__(self, other: Times) -> Times:
        return Times(self.wall - other.wall, self.cpu - other.cpu)

    def __truediv__(self, other: Times) -> Times:
        return Times(self.wall / other.wall, self.cpu / other.cpu)


@dataclass
class Row:
    name: str
    description: str
    measured: str = ""
    floor: str = ""
    ratio: Times | None = None  # wall and CPU ratios
    target: str = ""
    limit: float | None = None
    status: str = ""  # pass, FAIL, pending, skipped, error, info, noisy
    note: str = ""
    details: list[str] = field(default_factory=list)
    denominator: Times | None = None  # the floor's work, when the ratio divides by one

    def decide(self, clock: str) -> None:
        if self.status:
            return
        if self.denominator is not None and min(self.denominator.wall,
                                                self.denominator.cpu) <= 0:
            # A floor's work lost in the noise of its two timings: no ratio to judge.
            self.status = "noisy"
            self.note = f"{self.note}; floor work ≤ 0: too small to measure".lstrip("; ")
            return
        if self.ratio is None or self.limit is None:
            self.status = "info"
            return
        value = self.ratio.cpu if clock == "cpu" and math.isfinite(self.ratio.cpu) \
            else self.ratio.wall
        self.status = "pass" if value <= self.limit else "FAIL"


def format_table(rows: Sequence[Row]) -> str:
    headers = ("measurement", "measured", "floor", "ratio (wall)", "ratio (CPU)", "target",
               "result", "note")
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        wall = "" if row.ratio is None else f"{row.ratio.wall:.2f}"
        cpu = "" if row.ratio is None or not math.isfinite(row.ratio.cpu) \
            else f"{row.ratio.cpu:.2f}"
        cells = (f"**{row.name}**: {row.description}", row.measured, row.floor, wall, cpu,
                 row.target, row.status, row.note)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def machine_description() -> list[str]:
    import importlib.metadata as md

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    versions = []
    for package in ("pandas", "numpy", "scipy", "matplotlib", "pyarrow", "nbconvert"):
        try:
            versions.append(f"{package} {md.version(package)}")
        except md.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain",
                                "teamforge_analysis"], capture_output=True, text=True,
                               check=True).stdout.strip()
        commit += " (library modified)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return [
        f"- CPU: {cpu}; nproc {os.cpu_count()} (usable {len(os.sched_getaffinity(0))})",
        f"- memory: {memory}",
        f"- {platform.system()} {platform.release()}; Python {platform.python_version()}",
        f"- {', '.join(versions)}",
        f"- commit {commit}",
    ]


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------
GENERATOR = Path(__file__).resolve().parent / "generate.py"


def generate_in_child(folder: Path, size: Size) -> Path:
    """Run the generator in its own process (this one must stay small; see generate.py)."""
    arguments = [PYTHON, str(GENERATOR), str(folder), "--models", str(size.models),
                 "--tasks", str(size.tasks), "--runs", str(size.runs), "--seed", str(size.seed),
                 "--mean-steps", repr(size.mean_steps)]
    if size.steps:
        arguments += ["--steps", size.steps]
    if size.components:
        arguments.append("--components")
    if size.fold_runs:
        arguments += ["--fold-runs", size.fold_runs]
    arguments += ["--shape", size.shape, *(["--bad-cell"] if size.bad_cell else [])]
    subprocess.run(arguments, check=True, capture_output=True)
    return folder


def generated(folder: Path) -> dict[str, object]:
    """What GENERATED.json says about a generated folder (empty when there is none)."""
    try:
        return json.loads((folder / "GENERATED.json").read_text())
    except (OSError, ValueError):
        return {}


def data_folder(size: Size, log: Callable[[str], None] = print) -> Path:
    """The generated folder for ``size``, generated once and cached."""
    folder = CACHE / size.slug()
    recorded = generated(folder)
    if any(recorded.get(k) != v for k, v in dataclasses.asdict(size).items()):
        log(f"  generating {folder.relative_to(REPO)} ...")
        if folder.exists():
            shutil.rmtree(folder)
        partial = folder.with_name(folder.name + ".partial")
        if partial.exists():
            shutil.rmtree(partial)
        generate_in_child(partial, size)
        partial.rename(folder)
    return folder


@dataclass(frozen=True)
class Capabilities:
    """What the installed library can read (issue 5 adds runs and step logs)."""

    runs: bool
    steps: bool


def compile_bytecode() -> str:
    """Compile the installed package's modules to bytecode, as installing a wheel does.

    The warm-up runs cannot do it when ``PYTHONDONTWRITEBYTECODE`` is set (as on the machine
    below): an editable install would then compile its modules from source in every timed
    run (0.03 s), which pandas and scipy, compiled when installed, do not. Returns a line for
    the log.
    """
    code = ("import compileall, importlib.util, sys\n"
            "spec = importlib.util.find_spec('teamforge_analysis')\n"
            "folder = spec.submodule_search_locations[0]\n"
            "sys.exit(0 if compileall.compile_dir(folder, quiet=1) else 1)\n")
    done = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        return f"could not compile the package's bytecode: {done.stderr.strip()[-200:]}"
    flag = "set" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "not set"
    return f"compiled the package's bytecode (PYTHONDONTWRITEBYTECODE is {flag})"


def probe_capabilities(workdir: Path) -> Capabilities:
    """Run the library on tiny generated folders to see whether it reads runs and step logs."""
    runs_folder = generate_in_child(workdir / "probe_runs", Size(models=3, tasks=3, runs=2))
    code = ("import sys; from teamforge_analysis import load_dataset\n"
            "try:\n    ds = load_dataset(sys.argv[1])\n"
            "except Exception:\n    print('no')\n"
            "else:\n    runs = getattr(ds, 'runs', None)\n"
            "    frames = [ds.results] + ([runs] if runs is not None else [])\n"
            "    print('yes' if any('run' in f.columns for f in frames) else 'no')\n")
    out = subprocess.run([PYTHON, "-c", code, str(runs_folder)], capture_output=True, text=True)
    runs = out.stdout.strip() == "yes"
    steps_folder = generate_in_child(workdir / "probe_steps",
                            Size(models=3, tasks=3, runs=2, steps="parquet",
                                 fold_runs=None if runs else "tasks",
                                 mean_steps=6))
    steps = _reads_steps(steps_folder, workdir / "probe_out")
    return Capabilities(runs=runs, steps=steps)


STEP_FINDINGS = ("planning_depth_vs_success", "reward_trajectories")


def _reads_steps(folder: Path, out: Path) -> bool:
    """True when the JSON has a step-log finding that was computed (not ``not_computable``)."""
    try:
        _, stdout = run_once([*tool_command(), "--data", str(folder), "--format", "json",
                              "--no-figures", "--out", str(out)], capture=True)
    except CommandFailed:
        return False
    findings = {f["id"]: f for f in json.loads(stdout)["findings"]}
    return any(fid in findings and findings[fid]["verdict"] != "not_computable"
               for fid in STEP_FINDINGS)


# ----------------------------------------------------------------------------------------------
# Measurements
# ----------------------------------------------------------------------------------------------
@dataclass
class Context:
    quick: bool
    repetitions: int
    skip_10m: bool
    workdir: Path
    capabilities: Capabilities
    notebooks: Path
    fold: str = "tasks"
    log: Callable[[str], None] = print
    cache: dict[str, object] = field(default_factory=dict)

    def size(self, models: int, tasks: int, runs: int, **options: object) -> Size:
        """Sizes of the issue, divided by 10 in --quick mode (fewer runs per cell)."""
        if self.quick:
            runs = max(1, runs // 10)
        fold = self.fold if runs > 1 and not self.capabilities.runs else None
        return Size(models=models, tasks=tasks, runs=runs, fold_runs=fold,
                    **options)  # type: ignore[arg-type]


def _fmt(times: Times) -> str:
    return f"{times.wall:.2f} s"


def _samples_line(name: str, samples: list[Sample]) -> str:
    values = ", ".join(f"{s.seconds:.2f}" for s in samples)
    cpu = ", ".join(f"{s.cpu_seconds:.2f}" for s in samples)
    times = Times.of(samples)
    return (f"{name}: median {times.wall:.3f} s wall [{values}], "
            f"{times.cpu:.3f} s CPU [{cpu}]")


def measure_cli_full(ctx: Context) -> list[Row]:
    out = ctx.workdir / "cli_full"
    commands = {
        "run": [*tool_command(), "--out", str(out / "results"), "--figures",
                str(out / "figures")],
        "floor": python_c(FLOOR_FULL),
    }
    samples = alternate(commands, ctx.repetitions, log=ctx.log)
    run, floor = Times.of(samples["run"]), Times.of(samples["floor"])
    return [Row("cli_full", "`teamforge-analysis` on the bundled data (files, figures, console)",
                _fmt(run), f"{_fmt(floor)} (`{FLOOR_FULL}`)", run / floor, "≤ 1.5", 1.5,
                details=[_samples_line(n, s) for n, s in samples.items()])]


def imported_top_modules(command: Sequence[str]) -> set[str]:
    """Top-level packages a command imports (``PYTHONPROFILEIMPORTTIME`` on stderr)."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    _, stderr = run_once(command, env=env)
    modules = set()
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+\d+ \|\s*(\S+)", line)
        if match:
            modules.add(match.group(1).split(".")[0])
    return modules


def measure_cli_json(ctx: Context) -> list[Row]:
    out = ctx.workdir / "cli_json"
    run_command = [*tool_command(), "--format", "json", "--no-figures", "--out", str(out)]
    samples = alternate({"run": run_command, "floor": python_c(FLOOR_JSON)}, ctx.repetitions,
                        log=ctx.log)
    run, floor = Times.of(samples["run"]), Times.of(samples["floor"])
    rows = [Row("cli_json", "`--format json --no-figures` on the bundled data", _fmt(run),
                f"{_fmt(floor)} (`{FLOOR_JSON}`)", run / floor, "≤ 1.3", 1.3,
                details=[_samples_line(n, s) for n, s in samples.items()])]
    modules = imported_top_modules(run_command)
    heavy = [m for m in ("matplotlib", "rich", "PIL") if m in modules]
    rows.append(Row(
        "json_no_matplotlib", "modules imported by the JSON path (`-X importtime`)",
        ", ".join(heavy) if heavy else "none of matplotlib, rich, PIL",
        target="matplotlib not imported",
        status="FAIL" if "matplotlib" in modules else "pass",
        note=f"{len(modules)} top-level packages imported",
    ))
    return rows


def _read_code(folder: Path, steps: Path | None = None) -> str:
    """Read the files with pandas, printing the wall and CPU seconds the reads took."""
    code = ("import time, pandas; t, c = time.perf_counter(), time.process_time(); "
            f"pandas.read_csv({str(folder / 'results.csv')!r})")
    if steps is not None:
        reader = "read_parquet" if steps.suffix == ".parquet" else (
            "read_json" if steps.suffix == ".jsonl" else "read_csv")
        extra = ", lines=True" if steps.suffix == ".jsonl" else ""
        code += f"; pandas.{reader}({str(steps)!r}{extra})"
    return code + "; print(time.perf_counter() - t, time.process_time() - c)"


def _inside(samples: list[Sample]) -> Times:
    """Medians of the seconds a command reported timing itself (wall, CPU)."""
    pairs = [tuple(map(float, s.reported.split())) for s in samples]
    return Times(statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs))


def _shape_note(size: Size, ctx: Context) -> str:
    if size.runs > 1 and size.fold_runs:
        count = (size.tasks if size.fold_runs == "tasks" else size.models) * size.runs
        return (f"{size.models}×{size.tasks}×{size.runs}; runs folded into {count} "
                f"{size.fold_runs[:-1]} names (the loader reads no `run` column yet, issue 5)")
    return f"{size.models}×{size.tasks}×{size.runs} with a `run` column"


LOAD_CODE = "import sys; from teamforge_analysis import load_dataset; load_dataset(sys.argv[1])"
FLOOR_LIBRARY = "import teamforge_analysis"


@dataclass
class Work:
    """Work (time above the import floor) of the full run, of reading, and of loading."""

    run: Times
    read: Times
    read_inside: Times  # the reads timed inside their process: no start-up to subtract
    load: Times | None
    samples: dict[str, list[Sample]]
    folder: Path


def _work(ctx: Context, size: Size, label: str, repetitions: int, *, with_load: bool = False,
          warmup: bool = True) -> Work:
    folder = data_folder(size, ctx.log)
    steps = next(iter(folder.glob("steps.*")), None)
    commands = {
        "run": [*tool_command(), "--data", str(folder), "--format", "json", "--no-figures",
                "--out", str(ctx.workdir / label)],
        "run_floor": python_c(FLOOR_JSON),
        "read": python_c(_read_code(folder, steps)),
        "read_floor": python_c(FLOOR_PANDAS),
    }
    if with_load:
        commands["load"] = [PYTHON, "-c", LOAD_CODE, str(folder)]
        commands["load_floor"] = python_c(FLOOR_LIBRARY)
    samples = alternate(commands, repetitions, log=ctx.log, warmup=warmup, capture=("read",))
    m = {name: Times.of(s) for name, s in samples.items()}
    load = m["load"] - m["load_floor"] if with_load else None
    return Work(m["run"] - m["run_floor"], m["read"] - m["read_floor"],
                _inside(samples["read"]), load, samples, folder)


def _inside_note(work: Work) -> str:
    inside = work.read_inside
    ratio = work.run / inside
    return (f"reads timed inside their process: {inside.wall:.3f} s wall, {inside.cpu:.3f} s "
            f"CPU, which makes the ratio {ratio.wall:.1f} (wall), {ratio.cpu:.1f} (CPU)")


def measure_rows(ctx: Context) -> list[Row]:
    size_1m = ctx.size(500, 20, 100)
    label_1m = f"{size_1m.result_rows / 1e6:g}M"
    work = _work(ctx, size_1m, "rows_1m", ctx.repetitions, with_load=True)
    ctx.cache["rows_1m"] = work
    details = [_samples_line(n, s) for n, s in work.samples.items()]
    rows = [Row(
        "rows_1m", f"{label_1m} result rows (CSV): work of the full JSON run above its import "
        "floor vs `pandas.read_csv` above `import pandas`",
        _fmt(work.run), _fmt(work.read), work.run / work.read, "≤ 2.5", 2.5,
        note=f"{_shape_note(size_1m, ctx)}; {_inside_note(work)}", details=details,
        denominator=work.read,
    )]
    assert work.load is not None
    rows.append(Row(
        "load_1m", f"{label_1m} rows: `load_dataset` (read + validation) above `import "
        "teamforge_analysis` vs `pandas.read_csv` above `import pandas`",
        _fmt(work.load), _fmt(work.read), work.load / work.read,
        "no target of its own (part of rows_1m)", None,
        note="the part of rows_1m that does not depend on how runs are represented",
        denominator=work.read,
    ))
    if ctx.skip_10m:
        rows.append(Row("rows_10m", "ten times the rows: work(10×) / work(1×)",
                        target="≤ 12", status="skipped", note="--skip-10m"))
        return rows
    size_10m = ctx.size(500, 20, 1000)
    label_10m = f"{size_10m.result_rows / 1e6:g}M"
    work_10 = _work(ctx, size_10m, "rows_10m", max(2, ctx.repetitions - 2), warmup=False)
    rows.append(Row(
        "rows_10m", f"{label_10m} vs {label_1m} rows: work of the full JSON run",
        _fmt(work_10.run), f"{_fmt(work.run)} ({label_1m})", work_10.run / work.run, "≤ 12",
        12.0,
        note=f"{_shape_note(size_10m, ctx)}; pandas.read_csv's own work scales "
             f"{work_10.read_inside.wall / work.read_inside.wall:.1f}× (wall, timed inside "
             f"its process), {work_10.read_inside.cpu / work.read_inside.cpu:.1f}× (CPU)",
        details=[_samples_line(n, s) for n, s in work_10.samples.items()],
        denominator=work.run,
    ))
    return rows


def measure_rows_shuffled(ctx: Context) -> list[Row]:
    """rows_1m on a second shape (issue 12): rows shuffled, 4-decimal scores, 2-decimal
    test_pass."""
    size = ctx.size(500, 20, 100, shape="shuffled")
    work = _work(ctx, size, "rows_1m_shuffled", ctx.repetitions)
    return [Row(
        "rows_1m_shuffled", f"{size.result_rows / 1e6:g}M result rows of a second shape (rows "
        "in a random order, scores with 4 decimals, test_pass with 2): work of the full JSON "
        "run vs `pandas.read_csv`", _fmt(work.run), _fmt(work.read), work.run / work.read,
        "≤ 2.5", 2.5, note=f"{_shape_note(size, ctx)}; {_inside_note(work)}",
        details=[_samples_line(n, s) for n, s in work.samples.items()], denominator=work.read,
    )]


def measure_error_path(ctx: Context) -> list[Row]:
    """1M rows with one bad cell near the end (exit 2) against the clean 1M rows, whole
    processes (issue 12)."""
    clean, bad = ctx.size(500, 20, 100), ctx.size(500, 20, 100, bad_cell=True)
    commands = {name: [*tool_command(), "--data", str(data_folder(size, ctx.log)), "--format",
                       "json", "--no-figures", "--out", str(ctx.workdir / f"error_{name}")]
                for name, size in (("clean", clean), ("bad", bad))}
    samples = alternate(commands, ctx.repetitions, log=ctx.log, allowed={"bad": (2,)})
    m = {name: Times.of(s) for name, s in samples.items()}
    return [Row(
        "error_1m", f"{bad.result_rows / 1e6:g}M result rows with one bad cell ten rows from "
        "the end (exit 2, the problem located): whole process vs the clean run",
        _fmt(m["bad"]), _fmt(m["clean"]), m["bad"] / m["clean"], "≤ 2", 2.0,
        note=_shape_note(bad, ctx), details=[_samples_line(n, s) for n, s in samples.items()],
    )]


def _frames_memory(folder: Path) -> tuple[float, float]:
    """MB of memory_usage(deep=True): pandas.read_csv frames, and the library's loaded frames
    (results, models, tasks and, when the library has them, runs and steps)."""
    code = (
        "import sys, json, pandas\n"
        "from pathlib import Path\n"
        "from teamforge_analysis import load_dataset\n"
        "folder = Path(sys.argv[1])\n"
        "read = sum(int(pandas.read_csv(folder / f).memory_usage(deep=True).sum())\n"
        "           for f in ('results.csv', 'models.csv', 'tasks.csv'))\n"
        "ds = load_dataset(folder)\n"
        "frames = [getattr(ds, a, None) for a in ('results', 'models', 'tasks', 'runs', "
        "'steps')]\n"
        "lib = sum(int(f.memory_usage(deep=True).sum()) for f in frames if f is not None)\n"
        "print(json.dumps([read, lib]))\n"
    )
    out = subprocess.run([PYTHON, "-c", code, str(folder)], capture_output=True, text=True,
                         check=True)
    read, lib = json.loads(out.stdout)
    return read / 1024**2, lib / 1024**2


def measure_memory(ctx: Context) -> list[Row]:
    if "rows_1m" not in ctx.cache:
        ctx.cache["rows_1m"] = _work(ctx, ctx.size(500, 20, 100), "rows_1m", ctx.repetitions)
    work: Work = ctx.cache["rows_1m"]  # type: ignore[assignment]
    peak = max(s.max_rss_mb for s in work.samples["run"])
    baseline = statistics.median(s.max_rss_mb for s in work.samples["run_floor"])
    read_mb, library_mb = _frames_memory(work.folder)
    rows = int(generated(work.folder)["result_rows"])  # type: ignore[call-overload]
    # Children inherit this process's peak RSS as theirs: it must stay below what they report.
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if own_peak >= baseline:
        return [Row("memory_1m", "peak RSS of the JSON run", status="error",
                    note=f"run.py itself peaked at {own_peak:.0f} MB, above the children's "
                    f"baseline ({baseline:.0f} MB): their ru_maxrss is not theirs")]
    limit = baseline + 4 * read_mb
    # Expressed as a ratio: (peak - baseline) / frames, target 4.
    return [Row(
        "memory_1m", f"peak RSS of the {rows / 1e6:g}M-row JSON run vs "
        "import baseline + 4 × frames",
        f"{peak:.0f} MB", f"{baseline:.0f} MB + 4 × {read_mb:.0f} MB = {limit:.0f} MB",
        Times((peak - baseline) / read_mb, math.nan),  # memory: one ratio
        "(peak − baseline) / frames ≤ 4", 4.0,
        note=(f"frames = `memory_usage(deep=True)` of `pandas.read_csv` of the three files; "
              f"the library's loaded frames take {library_mb:.0f} MB; "
              f"{_shape_note(ctx.size(500, 20, 100), ctx)}; run.py's own peak RSS "
              f"{own_peak:.0f} MB (children inherit it)"),
    )]


def measure_steps(ctx: Context) -> list[Row]:
    # 100 models × 20 tasks × 50 runs = 100,000 episodes of 30 steps on average: ~3M step rows.
    size = ctx.size(100, 20, 50, steps="parquet")
    folder = data_folder(size, ctx.log)
    n_steps = int(generated(folder)["step_rows"])  # type: ignore[call-overload]
    work = _work(ctx, size, "steps_3m", max(2, ctx.repetitions - 2))
    status = "" if ctx.capabilities.steps else "pending"
    note = _shape_note(size, ctx)
    if not ctx.capabilities.steps:
        note += "; pending: the library does not read step logs yet (issue 5), so its run " \
                "reads only results.csv"
    return [Row(
        "steps_3m", f"{n_steps / 1e6:.2f}M step rows (Parquet) with their "
        f"{size.result_rows / 1e3:g}k results: work of the full JSON run vs reading both files",
        _fmt(work.run), _fmt(work.read), work.run / work.read, "≤ 2.5", 2.5, status,
        f"{note}; {_inside_note(work)}",
        details=[_samples_line(n, s) for n, s in work.samples.items()],
        denominator=work.read,
    )]


def _notebook_imports(notebook: dict) -> list[str]:
    """Source of every import statement in the notebook's code cells, in order."""
    imports: list[str] = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", []))
        # IPython magics and shell escapes are not Python; blank them out before parsing.
        source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                           for line in source.splitlines())
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        imports.extend(ast.get_source_segment(source, node) or ""
                       for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom))
    return [i for i in dict.fromkeys(imports) if i]


def measure_notebooks(ctx: Context) -> list[Row]:
    notebooks = sorted(ctx.notebooks.glob("*.ipynb")) if ctx.notebooks.is_dir() else []
    if not notebooks:
        return [Row("notebooks", "all notebooks in one nbconvert call vs import-only notebooks",
                    target="≤ 1.5", status="pending",
                    note=f"no notebooks in {ctx.notebooks.name}/ on this branch yet")]
    stubs_dir = ctx.workdir / "notebook_stubs"
    stubs_dir.mkdir(parents=True, exist_ok=True)
    stubs = []
    for path in notebooks:
        original = json.loads(path.read_text())
        stub = {
            "cells": [{"cell_type": "code", "execution_count": None, "id": "imports",
                       "metadata": {}, "outputs": [],
                       "source": "\n".join(_notebook_imports(original))}],
            "metadata": original.get("metadata", {}),
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        stub_path = stubs_dir / path.name
        stub_path.write_text(json.dumps(stub))
        stubs.append(stub_path)
    execute = [PYTHON, "-m", "nbconvert", "--to", "notebook", "--execute", "--output-dir"]
    commands = {
        "notebooks": [*execute, str(ctx.workdir / "nb_out"), *map(str, notebooks)],
        "imports_only": [*execute, str(ctx.workdir / "nb_stub_out"), *map(str, stubs)],
    }
    repetitions = max(2, ctx.repetitions - 2)
    samples = alternate(commands, repetitions, log=ctx.log)
    run, floor = Times.of(samples["notebooks"]), Times.of(samples["imports_only"])
    return [Row(
        "notebooks", f"{len(notebooks)} notebooks in one nbconvert call vs {len(stubs)} "
        "notebooks that only import the same libraries",
        _fmt(run), _fmt(floor), run / floor, "≤ 1.5", 1.5,
        details=[_samples_line(n, s) for n, s in samples.items()],
    )]


def _markdown_table_rows(markdown: str) -> list[int]:
    """Data rows of every table in a markdown document."""
    counts, current = [], 0
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            current += 1
        elif current:
            counts.append(max(0, current - 2))  # header and separator
            current = 0
    return counts


def measure_report_tables(ctx: Context) -> list[Row]:
    """Console and markdown tables list every model (issue 12: up to 1,000; it replaced the
    performance issue's 25-model cap), and the JSON keeps them all."""
    size = Size(models=120, tasks=6, runs=1, seed=1)
    folder = data_folder(size, ctx.log)
    base = [*tool_command(), "--data", str(folder), "--no-figures",
            "--out", str(ctx.workdir / "report_tables")]
    _, markdown = run_once([*base, "--format", "markdown"], capture=True)
    env = {**os.environ, "COLUMNS": "200"}
    _, console = run_once([*base, "--format", "text"], capture=True, env=env)
    document = json.loads((ctx.workdir / "report_tables" / "findings.json").read_text())
    largest_md = max(_markdown_table_rows(markdown), default=0)
    # Console table rows are lines holding exactly one model name; count the longest block.
    longest, block = 0, 0
    for line in console.splitlines():
        block = block + 1 if len(re.findall(r"model-\d+", line)) == 1 else 0
        longest = max(longest, block)
    json_models = len(document["leaderboard"])
    ok = largest_md >= size.models and longest >= size.models and json_models == size.models
    return [Row(
        "report_tables", f"{size.models} models: largest table in markdown / console",
        f"{largest_md} / {longest} rows", target="every model listed (up to 1,000; issue 12), "
        "JSON keeps all", status="pass" if ok else "FAIL",
        note=f"JSON leaderboard has {json_models} models",
    )]


UNCERTAINTY_CODE = (
    "import sys, time\n"
    "from teamforge_analysis import load_dataset\n"
    "from teamforge_analysis.uncertainty import leaderboard_uncertainty\n"
    "ds = load_dataset(sys.argv[1])\n"
    "t, c = time.perf_counter(), time.process_time()\n"
    "leaderboard_uncertainty(ds).to_dict()\n"
    "print(time.perf_counter() - t, time.process_time() - c)\n"
)
#: Issue 14's budget for the uncertainty part of a run over 50 models × 500 tasks × 3 runs.
UNCERTAINTY_BUDGET = 5.0


def measure_uncertainty(ctx: Context) -> list[Row]:
    """Issue 14: score/rank intervals and adjacent-pair comparisons, timed inside the process
    (the load is not part of it), against a fixed budget of 5 s: ratio = seconds / 5."""
    size = ctx.size(50, 500, 3)
    folder = data_folder(size, ctx.log)
    probe = subprocess.run([PYTHON, "-c", "import teamforge_analysis.uncertainty"],
                           capture_output=True)
    if probe.returncode != 0:
        return [Row("uncertainty_50x500", "leaderboard uncertainty (issue 14)", target="< 5 s",
                    status="pending", note="no teamforge_analysis.uncertainty on this branch")]
    command = [PYTHON, "-c", UNCERTAINTY_CODE, str(folder)]
    samples = alternate({"uncertainty": command}, ctx.repetitions, log=ctx.log,
                        capture=("uncertainty",))
    inside = _inside(samples["uncertainty"])
    budget = Times(UNCERTAINTY_BUDGET, UNCERTAINTY_BUDGET)
    return [Row(
        "uncertainty_50x500", f"`leaderboard_uncertainty(ds).to_dict()` on {size.models} "
        f"models × {size.tasks} tasks × {size.runs} runs (B = 2,000, adjacent pairs), timed "
        "inside its process after the load, vs a 5 s budget",
        _fmt(inside), "5 s budget", inside / budget, "≤ 1 (under 5 s)", 1.0,
        note=f"{_shape_note(size, ctx)}; CPU {inside.cpu:.2f} s",
        details=[_samples_line(n, s) for n, s in samples.items()],
    )]


MEASUREMENTS: dict[str, Callable[[Context], list[Row]]] = {
    "cli_full": measure_cli_full,
    "cli_json": measure_cli_json,
    "rows": measure_rows,
    "rows_shuffled": measure_rows_shuffled,
    "error_path": measure_error_path,
    "memory": measure_memory,
    "steps": measure_steps,
    "notebooks": measure_notebooks,
    "report_tables": measure_report_tables,
    "uncertainty": measure_uncertainty,
}
ALIASES = {"rows_1m_shuffled": "rows_shuffled", "error_1m": "error_path",
           "rows_1m": "rows", "rows_10m": "rows", "load_1m": "rows", "memory_1m": "memory",
           "steps_3m": "steps", "json_no_matplotlib": "cli_json",
           "uncertainty_50x500": "uncertainty"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="3 repetitions and a tenth of the large sizes")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this measurement (repeatable; see --list)")
    parser.add_argument("--list", action="store_true", help="list measurement names and exit")
    parser.add_argument("--repetitions", type=int, default=None,
                        help="timed repetitions per command (default 5, or 3 with --quick)")
    parser.add_argument("--skip-10m", action="store_true",
                        help="leave out the ten-million-row scaling case")
    parser.add_argument("--notebooks", type=Path, default=REPO / "notebooks",
                        help="folder of notebooks to execute (default: notebooks/)")
    parser.add_argument("--fold", choices=("tasks", "models"), default="tasks",
                        help="while the library reads no run column: write runs as distinct "
                        "task names (default) or model names")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="which ratio decides pass/fail: wall-clock time (default) or the "
                        "children's CPU time, steadier when other processes share the machine")
    parser.add_argument("--output", type=Path, default=None,
                        help="also write the table, machine and details as markdown here")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join([*MEASUREMENTS, *(f"{a} (= {t})" for a, t in ALIASES.items())]))
        return 0
    selected = list(MEASUREMENTS)
    if args.only:
        unknown = [n for n in args.only if n not in MEASUREMENTS and n not in ALIASES]
        if unknown:
            parser.error(f"unknown measurement {', '.join(unknown)}; see --list")
        wanted = {ALIASES.get(n, n) for n in args.only}
        selected = [n for n in MEASUREMENTS if n in wanted]

    repetitions = args.repetitions or (3 if args.quick else 5)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    machine = machine_description()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="teamforge-bench-") as tmp:
        workdir = Path(tmp)
        log(compile_bytecode())
        capabilities = probe_capabilities(workdir)
        log(f"library reads a run column: {capabilities.runs}; "
            f"reads step logs: {capabilities.steps}")
        ctx = Context(quick=args.quick, repetitions=repetitions, skip_10m=args.skip_10m,
                      workdir=workdir, capabilities=capabilities, notebooks=args.notebooks,
                      fold=args.fold, log=log)
        rows: list[Row] = []
        started = time.perf_counter()
        for name in selected:
            log(f"{name} ...")
            try:
                new_rows = MEASUREMENTS[name](ctx)
            except CommandFailed as exc:
                new_rows = [Row(name, "", status="error", note=str(exc).splitlines()[0],
                                details=str(exc).splitlines())]
            for row in new_rows:
                row.decide(args.clock)
            rows.extend(new_rows)
        elapsed = time.perf_counter() - started
    load_after = os.getloadavg()

    mode = "quick" if args.quick else "full"
    header = [
        f"Mode: {mode}, {repetitions} repetitions (medians; commands alternated; "
        f"pass/fail by the {args.clock} ratio), "
        f"{elapsed:.0f} s in all; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after.",
    ]
    details = [f"- {row.name}: {d}" for row in rows for d in row.details]
    report = "\n".join([*header, "", format_table(rows), "", "Machine:", *machine, "",
                        "Details (seconds):", *details, ""])
    print(report)
    if args.output:
        args.output.write_text(report)
    return 1 if any(r.status in ("FAIL", "error") for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
