"""Issue 15, the output side: names are data, outputs never end in a traceback, no leftovers.

- Names: any model or task name (markup characters, mathtext, names equal to output columns or
  internal keys, line separators, 300 characters) goes through the command and is shown as
  typed: in full in findings.json, escaped in findings.md, as plain text on the console and in
  figures (shortened there to 40 characters).
- Streams: a closed stdout pipe or an ASCII-only stdout ends quietly, exit 0.
- Writes: a folder that cannot be written gives exit 2 and one located line, nothing changed.
- Options: every option of the public functions is checked the same way, ValueError naming
  the valid values.
- Leftovers: hidden temporary and backup files of a killed run are removed by the next run.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _reliability import BUNDLED, DATA_FILES, REPO, copy_data, snapshot
from rich.cells import cell_len
from rich.console import Console

from teamforge_analysis import analyze, leaderboard, load_dataset
from teamforge_analysis.cli import main
from teamforge_analysis.console import print_console, print_table
from teamforge_analysis.findings import (
    difficulty_means,
    finding_inputs,
    hard_task_boundary,
    model_sizes,
    scale_vs_difficulty,
)
from teamforge_analysis.report import (
    Table,
    frame_table,
    leaderboard_table,
    to_markdown,
    uncertainty_tables,
)
from teamforge_analysis.uncertainty import score_intervals

MODELS = ("gemma2-9b-it", "llama3-70b-8192", "llama3-8b-8192", "mixtral-8x7b-32768")
TASKS = ("easy_bugfix_chunk_list", "hard_lru_cache_performance", "medium_refactor_stats")
LONG = "L" * 150 + "-" + "m" * 149  # 300 characters
#: Two data sets of odd names (the bundled data, renamed): models, then tasks.
ODD_NAMES = {
    "markup": (("$^$", "[/]", "[red]x", LONG), ("teamforge_score", "_key", "model")),
    "html": (("\\|", "<script>", "`tick` ``x``", "a\u2028b"), ("rank", "runs", "tasks_passed")),
    "keys": (("_key", "model", "rank", "teamforge_score"), ("task", "difficulty", "weight")),
}
#: How findings.md writes each name in a table cell, and what a markdown renderer shows.
MARKDOWN = {
    "$^$": "\\$^\\$",
    "[/]": "\\[/\\]",
    "[red]x": "\\[red\\]x",
    LONG: LONG,
    "\\|": "\\\\\\|",
    "<script>": "&lt;script&gt;",
    "`tick` ``x``": "\\`tick\\` \\`\\`x\\`\\`",
    "a\u2028b": "a\\\\u2028b",
    "teamforge_score": "teamforge_score",
    "_key": "\\_key",
    "model": "model",
    "rank": "rank",
    "runs": "runs",
    "tasks_passed": "tasks_passed",
    "task": "task",
    "difficulty": "difficulty",
    "weight": "weight",
}
#: How the console and figures show a name: on one line (control characters and separators as
#: escapes), at most 40 characters.
SHOWN = {**{name: name for name in MARKDOWN}, LONG: "L" * 26 + "…" + "m" * 13,
         "a\u2028b": "a\\u2028b"}


def renamed_data(folder: Path, models: tuple[str, ...] = MODELS,
                 tasks: tuple[str, ...] = TASKS) -> Path:
    """The bundled data with its models and tasks renamed (in order), written by the csv
    module (quoted where needed)."""
    rename = dict(zip(MODELS, models, strict=True)) | dict(zip(TASKS, tasks, strict=True))
    folder.mkdir(parents=True)
    for name in DATA_FILES:
        with open(BUNDLED / name, newline="", encoding="utf-8") as stream:
            rows = list(csv.reader(stream))
        with open(folder / name, "w", newline="", encoding="utf-8") as stream:
            csv.writer(stream, lineterminator="\n").writerows(
                [[rename.get(cell, cell) for cell in row] for row in rows])
    return folder


def markdown_cells(line: str) -> list[str]:
    """The cells of a markdown table row, split at the pipes that are not escaped."""
    cells, cell, chars = [], "", iter(line.strip().removeprefix("|").removesuffix("|"))
    for char in chars:
        if char == "\\":
            cell += char + next(chars, "")
        elif char == "|":
            cells.append(cell.strip())
            cell = ""
        else:
            cell += char
    return [*cells, cell.strip()]


def rendered_leaderboard(markdown: str) -> list[list[str]]:
    """The leaderboard table of findings.md as a CommonMark renderer with GitHub's tables shows
    it: each cell's text, HTML entities decoded."""
    from markdown_it import MarkdownIt

    page = MarkdownIt("commonmark").enable("table").render(markdown)
    table = page.split("<table>")[1].split("</table>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
    return [[html.unescape(cell) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row,
                                                        flags=re.S)] for row in rows]


# ----------------------------------------------------------------------------------------------
# Names are data
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", sorted(ODD_NAMES))
def test_odd_names_go_through_the_command_and_are_shown_as_typed(tmp_path, capsys, monkeypatch,
                                                                 case):
    models, tasks = ODD_NAMES[case]
    renamed_data(tmp_path / "data", models, tasks)
    monkeypatch.chdir(tmp_path)

    assert main(["--data", "data", "--out", "out", "--figures", "figures"]) == 0
    console = capsys.readouterr()

    assert console.err == ""
    # findings.json: every name in full.
    document = json.loads((tmp_path / "out" / "findings.json").read_text(encoding="utf-8"))
    assert {row["model"] for row in document["leaderboard"]} == set(models)
    assert all(set(row["scores"]) == set(tasks) for row in document["leaderboard"])
    # findings.md: each name escaped, no extra column, shown as typed once rendered.
    markdown = (tmp_path / "out" / "findings.md").read_text(encoding="utf-8")
    lines = markdown.splitlines()
    table = lines[lines.index("**Leaderboard**") + 2:]
    table = table[:table.index("")]
    assert {len(markdown_cells(line)) for line in table} == {len(tasks) + 4}
    assert [markdown_cells(line)[1] for line in table[2:]] == [
        MARKDOWN[row["model"]] for row in document["leaderboard"]]
    easy, hard, medium = tasks  # (renaming the bundled tasks, sorted by name)
    assert markdown_cells(table[0])[3:-1] == [MARKDOWN[t] for t in (easy, medium, hard)]
    shown = rendered_leaderboard(markdown)
    assert [row[1] for row in shown[1:]] == [
        row["model"].replace("\u2028", "\\u2028") for row in document["leaderboard"]]
    assert "<script>" not in markdown
    # The console: every name as typed (never read as markup), the long one shortened.
    for name in (*models, *tasks):
        assert SHOWN[name] in console.out
    assert LONG not in console.out
    # Every figure was drawn: the leaderboard's and each computable finding's.
    computable = [f for f in document["findings"] if f["verdict"] != "not_computable"]
    assert len(list((tmp_path / "figures").glob("*.png"))) == 1 + len(computable) >= 5


def test_figures_show_odd_names_as_typed_and_shortened(tmp_path):
    from teamforge_analysis import plots

    models, tasks = ODD_NAMES["markup"]
    analysis = analyze(renamed_data(tmp_path / "data", models, tasks))
    figure = plots.leaderboard(analysis.uncertainty, analysis.dataset)
    assert plots.png_bytes(figure).startswith(b"\x89PNG")
    ax = figure.axes[0]

    def displayed(texts) -> list[str]:
        # What matplotlib draws: the text after its mathtext preprocessing, never math.
        out = []
        for text in texts:
            shown, math = text._preprocess_math(text.get_text())
            assert math is False, text.get_text()
            out.append(shown)
        return out

    assert displayed(ax.get_yticklabels()) == [
        SHOWN[m] for m in analysis.leaderboard["model"]]


@pytest.mark.parametrize("name", ["teamforge_score", "rank", "runs", "tasks_passed", "model",
                                  "_key", "missing_tasks", "teamforge_score_se"])
def test_a_task_named_like_a_leaderboard_column_ranks_the_same(tmp_path, name):
    """The heaviest task renamed to a column name (or an internal key) of the leaderboard: the
    leaderboard is the same as with its plain name."""
    plain = leaderboard(load_dataset(BUNDLED))
    renamed_tasks = tuple(name if t == "hard_lru_cache_performance" else t for t in TASKS)
    board = leaderboard(load_dataset(renamed_data(tmp_path / "data", tasks=renamed_tasks)))

    columns = ["rank", "model", "teamforge_score", "teamforge_score_mean",
               "teamforge_score_best", "runs", "tasks_passed"]
    pd.testing.assert_frame_equal(board[columns], plain[columns])
    pd.testing.assert_series_equal(board[f"task:{name}"],
                                   plain["task:hard_lru_cache_performance"], check_names=False)
    document = analyze(tmp_path / "data").document
    assert [row["scores"][name] for row in document["leaderboard"]] == \
        plain["task:hard_lru_cache_performance"].tolist()


def test_markdown_tables_escape_every_cell():
    table = Table("Names: a|b <b>bold</b>", ("Model", "x|y"),
                  (("\\|", "<script>alert(1)</script>"), ("*a* _b_ [c](d) ~e~ $f$", "a\nb")),
                  note="by `model` & <i>")
    assert table.to_markdown() == textwrap.dedent("""\
        **Names: a|b &lt;b&gt;bold&lt;/b&gt;**

        | Model | x\\|y |
        |---|---|
        | \\\\\\| | &lt;script&gt;alert(1)&lt;/script&gt; |
        | \\*a\\* \\_b\\_ \\[c\\](d) \\~e\\~ \\$f\\$ | a\\\\nb |

        _by \\`model\\` & &lt;i&gt;_
        """)
    cells = rendered_leaderboard(table.to_markdown())
    assert cells == [["Model", "x|y"], ["\\|", "<script>alert(1)</script>"],
                     ["*a* _b_ [c](d) ~e~ $f$", "a\\nb"]]


def test_frame_tables_in_notebooks_escape_names_too():
    frame = pd.DataFrame({"model": ["[red]x", "a|b"], "score": [0.5, 0.25]})
    assert frame_table(frame, "Scores").to_markdown().splitlines()[4:6] == [
        "| \\[red\\]x | 0.500 |", "| a\\|b | 0.250 |"]


def test_the_console_prints_names_as_text_never_as_markup():
    """The console reads only the JSON document: names put into it directly, including
    control characters that the loader would refuse."""
    from rich.console import Console

    names = {"gemma2-9b-it": "[bold]x[/bold]", "llama3-70b-8192": "[/]",
             "llama3-8b-8192": "esc\x1b[31mred", "mixtral-8x7b-32768": "[link=http://e.x]y"}
    document = analyze().document
    for row in document["leaderboard"]:
        row["model"] = names[row["model"]]
    console = Console(file=io.StringIO(), width=200, color_system=None)
    print_console(document, console)
    out = console.file.getvalue()
    for name in ("[bold]x[/bold]", "[/]", "esc\\x1b[31mred", "[link=http://e.x]y"):
        assert name in out
    assert "\x1b" not in out


def test_console_tables_at_120_columns_break_no_cell_and_wrap_headers_between_words():
    """Each paired comparison's row holds its verdict whole, and a header too long for its
    column wraps between words ("Tasks for 80% power"), never inside one."""
    from rich.console import Console

    document = analyze().document
    console = Console(file=io.StringIO(), width=120, color_system=None)
    print_console(document, console)
    lines = console.file.getvalue().splitlines()
    for pair in document["leaderboard_uncertainty"]["pairs"]:
        row = next(line for line in lines
                   if line.split()[:2] == [pair["model_a"], pair["model_b"]])
        assert row.split()[-2] == pair["verdict"]
    words = {word for line in lines for word in line.split()}
    assert {"Tasks", "80%", "power"} <= words and "pow" not in words


def test_number_columns_are_right_aligned_in_markdown_console_and_html():
    """On the bundled data: every number column of findings.md is right-aligned, every text
    column left-aligned; the console and the HTML align the same columns the same way."""
    from rich.console import Console

    from teamforge_analysis.display import table_html
    from teamforge_analysis.report import evidence_tables

    document = analyze().document
    markdown = to_markdown(document)
    assert "| Rank | Model | TeamForge score |" in markdown
    assert "\n|---:|---|---:|---:|---:|---:|---:|\n" in markdown  # rank, model, scores, passed
    assert "\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n" in markdown  # correlations
    assert "\n| Left out | n | r | p | Hardest-level test then |\n|---|---:|---:|---:|---|\n" \
        in markdown
    (table, *_) = evidence_tables(document["findings"][0])  # r by difficulty: text, numbers
    console = Console(file=io.StringIO(), width=200, color_system=None)
    print_console(document, console)
    lines = console.file.getvalue().splitlines()
    first, r = table.rows[0][0], table.rows[0][2]
    line = next(row for row in lines if row.startswith(f"  {first} "))  # the label: left
    header = next(row for row in lines if " permutation p " in row)
    assert header.index(" r ") + 2 == line.index(f" {r} ") + 1 + len(r)  # r: right-justified
    header = next(row for row in lines if row.rstrip().endswith(" p   method"))
    line = next(row for row in lines if "exact (" in row)
    assert line.index("exact (") == header.index("method")  # a text column: left-justified
    markup = table_html(table)
    assert f'<td style="text-align:left">{first}</td>' in markup
    assert f'<td style="text-align:right">{r}</td>' in markup


def test_console_tables_with_wide_characters_keep_every_number_whole():
    """Names in CJK take two cells a character: the header fitting is not used for them, and
    the paired comparisons' p-values still print whole (0.25, not 0.)."""
    from rich.cells import cell_len
    from rich.console import Console

    document = analyze().document
    wide = {"llama3-70b-8192": "通义千问通义千问-72b-instruct",
            "llama3-8b-8192": "文心一言文心一言-8b",
            "mixtral-8x7b-32768": "智谱清言智谱-9b", "gemma2-9b-it": "m4"}
    for pair in document["leaderboard_uncertainty"]["pairs"]:
        pair["model_a"], pair["model_b"] = wide[pair["model_a"]], wide[pair["model_b"]]
    console = Console(file=io.StringIO(), width=120, color_system=None)
    print_console(document, console)
    lines = console.file.getvalue().splitlines()
    assert all(cell_len(line) <= 120 for line in lines)
    start = next(i for i, line in enumerate(lines) if "Paired comparisons" in line)
    block = lines[start:start + 20]
    assert sum(line.split().count("0.25") for line in block) == 3  # one p per pair


def console_text(document: dict, width: int = 120) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    print_console(document, console)
    return console.file.getvalue()


def table_bodies(text: str, caption: str) -> list[list[str]]:
    """The body rows of the console table captioned ``caption`` and of its continued parts:
    the lines between the header's rule and the blank line that ends the table."""
    lines = text.splitlines()
    bodies = []
    for i, line in enumerate(lines):
        if line.strip() in (caption, f"{caption} (continued)"):
            rule = next(j for j in range(i, len(lines)) if lines[j].strip().startswith("─"))
            end = next(j for j in range(rule, len(lines)) if not lines[j].strip())
            bodies.append(lines[rule + 1:end])
    return bodies


def check_rows_whole(text: str, table: Table) -> None:
    """Each row of ``table`` is one line in every part of the console table, and the cells
    after its names, read across the parts, are the table's cells word for word: no number
    broken, wrapped or cut, no empty row."""
    bodies = table_bodies(text, table.caption)
    assert bodies, table.caption
    for part in bodies:
        assert len(part) == len(table.rows), table.caption
    for k, row in enumerate(table.rows):
        shown = [word for part in bodies
                 for word in part[k].split()[table.label_columns:]]
        assert shown == " ".join(row[table.label_columns:]).split(), (table.caption, k)


def long_names_with_runs(n_models: int = 50, n_tasks: int = 500, runs: int = 3):
    """INVENTED data: 42-character model names differing only in their last 4 characters,
    tasks in three levels of unequal size, every cell with ``runs`` runs of 0/1 scores."""
    from teamforge_analysis import Dataset

    rng = np.random.default_rng(20261215)
    names = [f"organisation-{'x' * 20}-model-{i:04d}" for i in range(n_models)]
    levels = ["easy"] * (n_tasks // 2) + ["medium"] * (n_tasks // 3)
    levels += ["hard"] * (n_tasks - len(levels))
    tasks = pd.DataFrame({"task": [f"task_{t:04d}" for t in range(n_tasks)],
                          "difficulty": levels, "pass_threshold": 0.5})
    skill = rng.normal(0, 1, n_models)[:, None, None]
    solved = rng.random((n_models, n_tasks, runs)) < 1 / (1 + np.exp(
        -(skill + rng.normal(0, 1, (n_models, n_tasks, 1)))))
    m, t, r = np.indices(solved.shape).reshape(3, -1)
    results = pd.DataFrame({"model": np.array(names)[m], "task": tasks["task"].to_numpy()[t],
                            "run": r + 1, "score": solved.ravel().astype(float)})
    models = pd.DataFrame({"model": names, "params_b": rng.uniform(1, 100, n_models).round(1)})
    return Dataset.from_frames(results, models, tasks, name="long names")


@pytest.fixture(scope="module")
def long_document() -> dict:
    return analyze(long_names_with_runs()).document


def test_console_at_120_columns_keeps_every_number_whole_with_long_names_and_runs(long_document):
    """50 models with 42-character names, 500 tasks (a column per level), 3 runs a cell: the
    leaderboard, the intervals and the pairs print one line per row, every number whole,
    names shortened with an ellipsis but still told apart, nothing wider than 120."""
    text = console_text(long_document)
    assert all(cell_len(line) <= 120 for line in text.splitlines())
    leaderboard = leaderboard_table(long_document)
    assert leaderboard.headers[-4:] == ("easy", "medium", "hard", "Tasks passed")
    intervals, pairs = uncertainty_tables(long_document)
    assert len(pairs.rows) == 49
    for table in (leaderboard, intervals, pairs):
        check_rows_whole(text, table)
    for table in (leaderboard, pairs):  # (names alike in every part of a split table)
        parts = [[line.split()[:table.label_columns] for line in part]
                 for part in table_bodies(text, table.caption)]
        assert len(parts) > 1 and all(part == parts[0] for part in parts)
    shown = [line.split()[1] for line in table_bodies(text, "Leaderboard")[0]]
    assert len(set(shown)) == 50 and all("…" in name for name in shown)
    assert [name[-4:] for name in shown] == [row[1][-4:] for row in leaderboard.rows]


def test_console_task_headers_break_only_between_words_or_after_underscores():
    """The bundled data's task names as leaderboard headers at 120 columns: each header line
    holds whole pieces of a name (``easy_bugfix_`` then ``chunk_list``), never a piece cut."""
    text = console_text(analyze().document)
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "Leaderboard")
    rule = next(i for i in range(start, len(lines)) if lines[i].strip().startswith("─"))
    words = {word for line in lines[start + 1:rule] for word in line.split()}
    task_words = words - {"Rank", "Model", "TeamForge", "score", "Tasks", "passed"}

    def whole_pieces(word: str) -> bool:
        for task in TASKS:
            cuts = {0, len(task), *(i + 1 for i, c in enumerate(task) if c == "_")}
            if any(task[a:b] == word for a in cuts for b in cuts if a < b):
                return True
        return False

    assert all(whole_pieces(word) for word in task_words), task_words
    for task in TASKS:  # (and every name is there whole, over its lines)
        assert "".join(sorted((w for w in task_words if w in task), key=task.index)) == task


def test_console_splits_a_table_too_wide_for_its_numbers():
    """Numbers alone wider than the console: the columns after the names go into a
    continued table that repeats the names; every number still whole."""
    rows = tuple((f"model-{i}", *(f"0.{i}{k:02d} ({i}.100 to {i}.900)" for k in range(6)))
                 for i in range(3))
    table = Table("Wide", ("Model", *(f"interval {k}" for k in range(6))), rows)
    console = Console(file=io.StringIO(), width=80, color_system=None)
    print_table(console, table)
    text = console.file.getvalue()
    assert "Wide (continued)" in text
    assert all(len(line) <= 80 for line in text.splitlines())
    check_rows_whole(text, table)


def test_console_shortens_wide_names_by_their_cells():
    """CJK names (two cells a character) in a narrow console: shortened by the cells they
    take, with an ellipsis, every line within the width and every row on one line."""
    document = analyze().document
    wide = {"llama3-70b-8192": "通义千问通义千问通义千问-72b-instruct",
            "llama3-8b-8192": "文心一言文心一言-8b", "mixtral-8x7b-32768": "智谱清言智谱-9b",
            "gemma2-9b-it": "m4"}
    for row in document["leaderboard"]:
        row["model"] = wide[row["model"]]
    for pair in document["leaderboard_uncertainty"]["pairs"]:
        pair["model_a"], pair["model_b"] = wide[pair["model_a"]], wide[pair["model_b"]]
    text = console_text(document, width=70)
    assert all(cell_len(line) <= 70 for line in text.splitlines())
    board = table_bodies(text, "Leaderboard")
    assert board[0][0].split()[1] == "通义千问通义千问…instruct"
    check_rows_whole(text, leaderboard_table(document))


def test_a_data_folder_named_in_bytes_that_are_not_utf8(tmp_path):
    """The loader names the data set with the undecodable byte escaped (``data\\xff``): plain
    text in findings.json, escaped again in findings.md."""
    folder = os.fsencode(tmp_path) + b"/data\xff"
    copy_data(BUNDLED, Path(os.fsdecode(folder)), DATA_FILES)
    done = subprocess.run(
        [sys.executable, "-m", "teamforge_analysis", "--data", folder, "--out", "out",
         "--no-figures", "--format", "json"],
        cwd=tmp_path, capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    assert json.loads(done.stdout)["dataset"]["name"] == "data\\xff"
    text = (tmp_path / "out" / "findings.json").read_text(encoding="utf-8")
    assert json.loads(text)["dataset"]["name"] == "data\\xff"
    markdown = (tmp_path / "out" / "findings.md").read_text(encoding="utf-8")
    assert markdown.startswith("# data\\\\xff: findings\n")


# ----------------------------------------------------------------------------------------------
# Pipes and encodings
# ----------------------------------------------------------------------------------------------
def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "teamforge_analysis", *args]


ENVIRONMENT = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


@pytest.mark.parametrize("output", ["text", "markdown", "json"])
def test_a_closed_stdout_pipe_ends_quietly(tmp_path, output):
    """`teamforge-analysis | head -1`, the reader gone before anything is printed."""
    process = subprocess.Popen(
        command("--out", "out", "--no-figures", "--format", output), cwd=tmp_path,
        env=ENVIRONMENT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # before the command has printed anything: every write fails
    stderr = process.stderr.read().decode("utf-8")
    assert process.wait(timeout=300) == 0
    assert stderr == ""
    assert json.loads((tmp_path / "out" / "findings.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("encoding", "output"), [("ascii", "text"), ("ascii", "markdown"),
                                                  ("latin-1", "json")])
def test_an_ascii_terminal_gets_replacement_characters(tmp_path, encoding, output):
    renamed_data(tmp_path / "data", ("模型-ü", "±", "naïve", "plain"))
    done = subprocess.run(
        command("--data", "data", "--out", "out", "--no-figures", "--format", output),
        cwd=tmp_path, env={**ENVIRONMENT, "PYTHONIOENCODING": encoding},
        capture_output=True, timeout=300, check=False)
    assert done.returncode == 0
    assert done.stderr == b""
    assert "?" in done.stdout.decode(encoding)
    # The files hold every name in UTF-8, whatever the terminal.
    document = json.loads((tmp_path / "out" / "findings.json").read_text(encoding="utf-8"))
    assert {row["model"] for row in document["leaderboard"]} == {"模型-ü", "±", "naïve", "plain"}


@pytest.mark.parametrize(("closed", "data", "status"), [(1, None, 0), (2, "missing", 2)])
def test_started_with_a_stream_closed(tmp_path, closed, data, status):
    """`teamforge-analysis >&-` writes its outputs and exits 0; `2>&-` on bad input exits 2
    and prints its errors nowhere else (not on stdout)."""
    done = subprocess.run(
        command(*(["--data", data] if data else []), "--out", "out", "--no-figures"),
        cwd=tmp_path, env=ENVIRONMENT, capture_output=closed == 1, timeout=300, check=False,
        stdout=subprocess.PIPE if closed == 2 else None,
        preexec_fn=lambda: os.close(closed))
    assert done.returncode == status
    if closed == 1:
        assert done.stderr == b""
        assert (tmp_path / "out" / "findings.json").is_file()
    else:
        assert done.stdout == b""
        assert not (tmp_path / "out").exists()


def test_interrupted_ends_quietly(capsys, monkeypatch):
    import teamforge_analysis.analysis

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(teamforge_analysis.analysis, "analyze", interrupt)
    assert main(["--no-figures"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


# ----------------------------------------------------------------------------------------------
# Outputs that cannot be written
# ----------------------------------------------------------------------------------------------
def test_permission_denied_names_the_folder_not_the_temporary_file(tmp_path, capsys,
                                                                   monkeypatch):
    """As an unprivileged user in a folder of another (simulated: root is not refused)."""
    copy_data(BUNDLED, tmp_path / "data", DATA_FILES)
    (tmp_path / "locked").mkdir()
    before = snapshot(tmp_path)
    real = tempfile.mkstemp

    def refuse(*args, dir=None, prefix="", suffix="", **kwargs):
        if Path(dir).name == "locked":
            hidden = os.path.join(dir, f"{prefix}abcdefgh{suffix}")
            raise PermissionError(13, "Permission denied", hidden)
        return real(*args, dir=dir, prefix=prefix, suffix=suffix, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.chdir(tmp_path)
    status = main(["--data", "data", "--out", "out", "--figures", "locked"])
    assert status == 2
    assert capsys.readouterr().err == "error: cannot write outputs: Permission denied (locked)\n"
    assert snapshot(tmp_path) == before  # out/ not created either


UNPRIVILEGED = textwrap.dedent("""
    import os, sys
    from teamforge_analysis.cli import main
    # Everything the command imports and caches (modules, fonts) is loaded first, as root;
    # then the process becomes nobody, for whom the folders below are not writable.
    assert main(["--out", sys.argv[1], "--figures", sys.argv[1], "--format", "json"]) == 0
    os.setgid(65534)
    os.setgroups([])
    os.setuid(65534)
    sys.exit(main(sys.argv[2:]))
""")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="needs root to drop privileges (as another user, chmod would do)")
@pytest.mark.parametrize(("out", "where"), [("locked", "locked"), ("locked/new", "locked/new")])
def test_permission_denied_for_real(tmp_path, out, where):
    work = tmp_path / "work"
    (work / "locked").mkdir(parents=True)
    os.chmod(tmp_path, 0o755)
    os.chmod(work, 0o755)
    before = snapshot(work / "locked")
    done = subprocess.run(
        [sys.executable, "-c", UNPRIVILEGED, str(tmp_path / "warm"), "--out", out,
         "--figures", out, "--format", "json"],
        cwd=work, env=ENVIRONMENT, capture_output=True, text=True, timeout=300, check=False)
    if "PermissionError" in done.stderr and "setuid" in done.stderr:
        pytest.skip("cannot drop privileges here")
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"error: cannot write outputs: Permission denied ({where})\n"
    assert done.stdout.endswith("\n") and "findings" not in done.stdout.splitlines()[-1]
    assert snapshot(work / "locked") == before


# ----------------------------------------------------------------------------------------------
# Options
# ----------------------------------------------------------------------------------------------
AGGREGATE = "aggregate must be one of mean, best, not {!r}"
SIZE = "size_column must be one of params_b, active_params_b, log10_params_b, not {!r}"
DATASET = "dataset must be a Dataset (from load_dataset or Dataset.from_frames), not {}"


@pytest.mark.parametrize("value", ["median", "", "Mean", None, 3, pd.NA, ["mean"]])
@pytest.mark.parametrize("given", ["dataset", "folder", "bundled"])
def test_analyze_checks_aggregate_alike_for_every_input(value, given):
    data = {"dataset": load_dataset(), "folder": str(BUNDLED), "bundled": None}[given]
    if value is None:  # None means: the dataset's own protocol, or mean
        assert analyze(data, aggregate=value).dataset.aggregate == "mean"
        return
    with pytest.raises(ValueError, match=re.escape(AGGREGATE.format(value))):
        analyze(data, aggregate=value)


def test_analyze_names_what_data_may_be():
    message = ("data must be a data folder (a path), a Dataset or None (the bundled data), "
               "not int")
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        analyze(3)


@pytest.mark.parametrize("call", [
    lambda ds, v: scale_vs_difficulty(ds, size_column=v),
    lambda ds, v: hard_task_boundary(ds, size_column=v),
    lambda ds, v: finding_inputs(ds, "scale_vs_difficulty", size_column=v),
    lambda ds, v: model_sizes(ds, v),
], ids=["scale_vs_difficulty", "hard_task_boundary", "finding_inputs", "model_sizes"])
@pytest.mark.parametrize("value", ["nope", "family", None, 1])
def test_size_column_is_checked(call, value):
    with pytest.raises(ValueError, match=f"^{re.escape(SIZE.format(value))}$"):
        call(load_dataset(), value)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: leaderboard(str(BUNDLED)), DATASET.format("str")),
    (lambda: difficulty_means(load_dataset(), "nope"),
     "value must be one of score, steps, test_pass, passed, not 'nope'"),
    (lambda: score_intervals(load_dataset(), resamples="9"),
     "resamples must be an integer of at least 1, not '9'"),
    (lambda: score_intervals(load_dataset(), confidence=95),
     "confidence must be a number between 0 and 1, not 95"),
    (lambda: score_intervals(None), DATASET.format("NoneType")),
    (lambda: frame_table([1], "c"), "frame must be a pandas DataFrame, not list"),
], ids=["leaderboard", "difficulty_means", "resamples", "confidence", "score_intervals",
        "frame"])
def test_other_options_are_checked(call, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        call()


# ----------------------------------------------------------------------------------------------
# No leftovers
# ----------------------------------------------------------------------------------------------
def test_leftovers_of_a_killed_run_are_removed_by_the_next(tmp_path, capsys, monkeypatch):
    """Hidden .tmp/.bak files of the outputs' names made by a process that no longer exists
    (or by a version that did not name its process) go; those of a live process, and other
    files, stay."""
    copy_data(BUNDLED, tmp_path / "data", DATA_FILES)
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    dead, alive = finished.pid, os.getpid()
    leftovers = [f"out/.findings.json.{dead}.abcd_123.tmp", f"out/.findings.md.{dead}.zzzzzzzz.bak",
                 "out/.findings.json.k2j4h5g6.tmp", f"figures/.leaderboard.png.{dead}.a1b2c3d4.tmp",
                 f"figures/.step_efficiency.png.{dead}.a1b2c3d4.bak"]
    kept = [f"out/.findings.json.{alive}.abcd_123.tmp", f"out/.notes.txt.{dead}.abcd_123.tmp",
            "out/.findings.json.tmp", "figures/.leaderboard.png.abc.bak"]
    for name in (*leftovers, *kept):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"half written")
    monkeypatch.chdir(tmp_path)

    assert main(["--data", "data", "--out", "out", "--figures", "figures"]) == 0
    capsys.readouterr()

    hidden = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob(".*"))
    assert hidden == sorted(kept)


def test_a_run_leaves_no_hidden_file(tmp_path, capsys, monkeypatch):
    copy_data(BUNDLED, tmp_path / "data", DATA_FILES)
    monkeypatch.chdir(tmp_path)
    for _ in range(2):  # the second replaces the first's outputs (backups made, then removed)
        assert main(["--data", "data", "--out", "out", "--figures", "figures"]) == 0
    capsys.readouterr()
    assert list(tmp_path.rglob(".*")) == []


def test_markdown_of_the_bundled_data_is_unchanged_by_escaping():
    """Escaping touches only what markdown would read as markup: the committed findings.md
    (plain names, "p < 0.001", "score >= threshold", "|r|" in headers) is the same."""
    committed = (REPO / "results" / "findings.md").read_text(encoding="utf-8")
    assert to_markdown(analyze().document) == committed
