"""Odd but valid input gives the same findings as the clean bundled files.

Each variant rewrites the bundled data (a byte-order mark, CRLF, booleans spelled in every
allowed way, unknown columns, rows and columns in another order, every field quoted, model names
with spaces, ...). The findings document, minus what identifies the input files (their hashes
and folder name), must equal the clean one, and findings.md must be identical; both CSV readers
(the csv module, and pyarrow where a file has no quotes) must give the same Dataset.

The odd corpus, tests/data/odd/, holds valid inputs that once were errors (columns and cells
now optional), each with the outputs it gives in expected.json.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable

import pandas as pd
import pytest
from _reliability import (
    BUNDLED,
    DATA_FILES,
    TESTS,
    findings_without_file_identity,
    run_command,
    snapshot,
)

from teamforge_analysis import io as tio
from teamforge_analysis import load_dataset
from teamforge_analysis.analysis import analyze
from teamforge_analysis.report import to_markdown

Files = dict[str, str]
Table = list[list[str]]


def bundled_files() -> Files:
    return {name: (BUNDLED / name).read_text(encoding="utf-8") for name in DATA_FILES}


def parse(text: str) -> Table:
    return list(csv.reader(io.StringIO(text)))


def unparse(table: Table, **options) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n", **options).writerows(table)
    return buffer.getvalue()


def each_table(change: Callable[[str, Table], Table], **options) -> Callable[[Files], Files]:
    return lambda files: {name: unparse(change(name, parse(text)), **options)
                          for name, text in files.items()}


def column(table: Table, name: str) -> int:
    return table[0].index(name)


# -- the variants ------------------------------------------------------------------------------
def with_bom(files: Files) -> Files:
    return {name: "\ufeff" + text for name, text in files.items()}


def with_crlf(files: Files) -> Files:
    return {name: text.replace("\n", "\r\n") for name, text in files.items()}


def with_cr_only(files: Files) -> Files:
    return {name: text.replace("\n", "\r") for name, text in files.items()}


BOOLEAN_SPELLINGS = {
    "true": ["true", "True", "TRUE", "1"],
    "false": ["false", "False", "FALSE", "0"],
}


def booleans_spelled_every_way(name: str, table: Table) -> Table:
    if name != "results.csv":
        return table
    i = column(table, "passed")
    for n, row in enumerate(table[1:]):
        spellings = BOOLEAN_SPELLINGS[row[i]]
        row[i] = spellings[n % len(spellings)]
    return table


def unknown_columns(name: str, table: Table) -> Table:
    table[0].insert(1, "notes")
    for n, row in enumerate(table[1:]):
        row.insert(1, f"checked by hand, run {n}" if n % 2 else "")
    table[0].append("extra")
    for row in table[1:]:
        row.append("1.5")
    return table


def rows_reversed(name: str, table: Table) -> Table:
    return [table[0], *reversed(table[1:])]


def rows_shuffled(name: str, table: Table) -> Table:
    body = table[1:]
    random.Random(20240611).shuffle(body)
    return [table[0], *body]


def columns_reversed(name: str, table: Table) -> Table:
    return [list(reversed(row)) for row in table]


def model_names_with_spaces(name: str, table: Table) -> Table:
    if "model" in table[0]:
        i = column(table, "model")
        for row in table[1:]:
            row[i] = row[i].replace("-", " ")
    return table


def padded_cells(name: str, table: Table) -> Table:
    return [[f"  {cell}\t" if cell else cell for cell in row] for row in table]


def with_blank_lines(files: Files) -> Files:
    def spread(text: str) -> str:
        lines = text.splitlines()
        return "\n\n" + "\n  \n".join(lines) + "\n\n\t\n"  # blank lines before, between, after
    return {name: spread(text) for name, text in files.items()}


def without_final_newline(files: Files) -> Files:
    return {name: text.rstrip("\n") for name, text in files.items()}


def numbers_spelled_differently(name: str, table: Table) -> Table:
    """0.62 as 6.2e-1, 18 as 18.0, 1.00 as +1 (the same floats)."""
    for column_name, spell in (
        ("score", lambda v: f"{float(v):e}"),
        ("test_pass", lambda v: f"+{float(v):g}"),
        ("steps", lambda v: f"{int(v)}.0"),
        ("weight", lambda v: f"{float(v):.20f}".rstrip("0")),
        ("params_b", lambda v: f"{float(v):e}" if v else v),
    ):
        if column_name in table[0]:
            i = column(table, column_name)
            for row in table[1:]:
                row[i] = spell(row[i])
    return table


def everything_at_once(files: Files) -> Files:
    for change in (each_table(booleans_spelled_every_way), each_table(unknown_columns),
                   each_table(rows_shuffled), each_table(columns_reversed),
                   each_table(model_names_with_spaces, quoting=csv.QUOTE_ALL), with_bom,
                   with_crlf):
        files = change(files)
    return files


VARIANTS: dict[str, Callable[[Files], Files]] = {
    "utf8_bom": with_bom,
    "crlf": with_crlf,
    "cr_only": with_cr_only,
    "booleans_every_spelling": each_table(booleans_spelled_every_way),
    "unknown_columns": each_table(unknown_columns),
    "rows_reversed": each_table(rows_reversed),
    "rows_shuffled": each_table(rows_shuffled),
    "columns_reversed": each_table(columns_reversed),
    "every_field_quoted": each_table(lambda name, table: table, quoting=csv.QUOTE_ALL),
    "model_names_with_spaces": each_table(model_names_with_spaces),
    "padded_cells": each_table(padded_cells),
    "blank_lines": with_blank_lines,
    "no_final_newline": without_final_newline,
    "numbers_spelled_differently": each_table(numbers_spelled_differently),
    "everything_at_once": everything_at_once,
}

#: Variants that rename models; their findings are compared after renaming back.
RENAMED = {"model_names_with_spaces", "everything_at_once"}

UNKNOWN_COLUMN_WARNINGS = [
    f"{name} line 1, column {column_name}: unknown column, ignored"
    for name in DATA_FILES for column_name in ("notes", "extra")
]


def write_variant(tmp_path, variant: str) -> object:
    folder = tmp_path / variant / "data"  # every folder is called data, like the bundled one
    folder.mkdir(parents=True)
    for name, text in VARIANTS[variant](bundled_files()).items():
        (folder / name).write_bytes(text.encode("utf-8"))
    (folder / "benchmark.json").write_bytes((BUNDLED / "benchmark.json").read_bytes())
    return folder


@pytest.fixture(scope="module")
def clean_document() -> dict:
    return analyze(BUNDLED).document


def comparable(document: dict, renamed: bool) -> dict:
    document = findings_without_file_identity(document)
    if not renamed:
        return document
    text = json.dumps(document)
    for model in parse(bundled_files()["models.csv"])[1:]:
        text = text.replace(model[0].replace("-", " "), model[0])
    return json.loads(text)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_gives_the_same_findings(variant, tmp_path, clean_document):
    folder = write_variant(tmp_path, variant)
    original = {name: (BUNDLED / name).read_bytes() for name in DATA_FILES}
    assert {name: (folder / name).read_bytes() for name in DATA_FILES} != original

    result = analyze(folder)

    assert comparable(result.document, variant in RENAMED) == comparable(clean_document, False)
    if variant not in RENAMED:
        assert to_markdown(result.document) == to_markdown(clean_document)
    expected_warnings = UNKNOWN_COLUMN_WARNINGS if variant in {
        "unknown_columns", "everything_at_once"} else []
    assert sorted(result.dataset.warnings) == sorted(expected_warnings)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_reads_alike_with_either_csv_reader(variant, tmp_path, monkeypatch):
    folder = write_variant(tmp_path, variant)
    fast = load_dataset(folder)
    monkeypatch.setattr(tio, "_arrow_csv", lambda raw: None)  # (every file: the csv module)
    slow = load_dataset(folder)
    for frame in ("results", "runs", "models", "tasks"):
        pd.testing.assert_frame_equal(getattr(slow, frame), getattr(fast, frame))
    assert (slow.name, slow.files, slow.warnings) == (fast.name, fast.files, fast.warnings)


ODD_CORPUS = TESTS / "data" / "odd"
ODD_CASES = sorted(p.name for p in ODD_CORPUS.iterdir() if p.is_dir())


def statistic(statistics: dict, path: str) -> object:
    for key in path.split("."):  # (a path of keys: "within_task.<task>.n")
        statistics = statistics[key]
    return statistics


@pytest.mark.parametrize("case", ODD_CASES)
def test_odd_case_gives_its_recorded_outputs(case, clean_document):
    expected = json.loads((ODD_CORPUS / case / "expected.json").read_text(encoding="utf-8"))
    result = analyze(ODD_CORPUS / case)
    document = result.document

    assert list(result.dataset.warnings) == expected["warnings"]
    assert document["dataset"]["equal_weights"] is expected["equal_weights"]
    assert set(expected["caveats_include"]) <= set(document["caveats"])
    assert [[row["model"], row["rank"], round(row["teamforge_score"], 6), row["tasks_passed"]]
            for row in document["leaderboard"]] == expected["leaderboard"]
    findings = {f["id"]: f for f in document["findings"]}
    assert {k: f["verdict"] for k, f in findings.items()} == {
        k: f["verdict"] for k, f in expected["findings"].items()}
    for key, recorded in expected["findings"].items():
        if "reason" in recorded:
            assert findings[key]["verdict_reason"] == recorded["reason"]
        for path, value in recorded.get("statistics", {}).items():
            assert statistic(findings[key]["statistics"], path) == value, (key, path)
    # What the odd input does not touch is computed as from the clean files.
    clean = {f["id"]: f for f in clean_document["findings"]}
    for key in expected["same_statistics_as_bundled"]:
        assert findings[key]["statistics"] == clean[key]["statistics"], key


def test_model_names_keep_their_spaces(tmp_path):
    result = analyze(write_variant(tmp_path, "model_names_with_spaces"))
    assert "llama3 70b 8192" in set(result.leaderboard["model"])


def test_unknown_columns_warn_on_stderr_and_succeed(tmp_path):
    folder = write_variant(tmp_path, "unknown_columns")
    work = folder.parent
    done = run_command(["--data", "data", "--out", "results", "--figures", "figures",
                        "--format", "json"], cwd=work)
    assert done.returncode == 0
    assert done.stderr.splitlines() == [f"warning: {w}" for w in UNKNOWN_COLUMN_WARNINGS]
    written = json.loads((work / "results" / "findings.json").read_text(encoding="utf-8"))
    assert json.loads(done.stdout) == written
    # One figure per computable finding (the bundled data have no components or step log).
    assert set(snapshot(work / "figures")) == {"leaderboard.png"} | {
        f"{f['id']}.png" for f in written["findings"] if f["verdict"] != "not_computable"}
    assert "hard_task_boundary.png" in set(snapshot(work / "figures"))
