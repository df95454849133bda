"""The project's own promises: README commands, CI, committed outputs, clean package."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme[readme.index("## Quick start"):]
    return re.findall(r"```bash\n(.+?)\n```", quick_start)[:2]


def test_readme_has_the_two_set_up_commands() -> None:
    run, test = _readme_commands()
    assert "teamforge-analysis" in run and "pip install" in run
    assert "pytest" in test and ".[test]" in test


def test_ci_runs_the_readme_test_command() -> None:
    _, test = _readme_commands()
    install_and_test = test.split("&& ", 2)[-1]  # after creating and activating the venv
    assert install_and_test in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_package_never_writes_nan() -> None:
    for source in (ROOT / "teamforge_analysis").glob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert not re.search(r"\bnp\.nan\b", text) and 'float("nan")' not in text, source.name


def test_committed_outputs_hold_no_absolute_paths() -> None:
    for output in [*(ROOT / "results").glob("*.md"), *(ROOT / "results").glob("*.json")]:
        text = output.read_text(encoding="utf-8")
        assert str(ROOT) not in text and "/home/" not in text and "/tmp/" not in text


def test_readme_library_example_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = readme[readme.index("## The library"):].split("```python\n", 1)[1].split("```")[0]
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # the example as a user would paste it
    result = namespace["result"]
    assert list(result.leaderboard["model"]) == ["b", "a"]  # type: ignore[attr-defined]
