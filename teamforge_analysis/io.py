"""Read a data folder's files into the inputs :mod:`.validate` checks. A CSV file is parsed
once, every column as text: by the :mod:`csv` module, which reads every file, or, when pyarrow
is installed and the file has no quotes, by pyarrow's faster reader (the two then give the same
cells; tested). Physical lines are found only when a problem is reported.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import stat
from pathlib import Path

import numpy as np
import pandas as pd

from .schema import Table
from .validate import Cells, Input, Problem, show

__all__ = ["MAX_BYTES", "STEP_LOG_NAMES", "find_step_log", "read_file", "read_input"]

#: File names a step log may have, in the order they are looked for.
STEP_LOG_NAMES: tuple[str, ...] = ("steps.jsonl", "steps.csv", "steps.parquet")
#: Input files larger than this are refused before they are read.
MAX_BYTES = 1 << 30
_BLOCK = 1 << 24  # (a file with NUL bytes is refused at the first block that has one)
_BOM = b"\xef\xbb\xbf"
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
_SPECIAL = {stat.S_IFDIR: "is a folder, not a file", stat.S_IFIFO: "is a named pipe (FIFO), "
            "not a file", stat.S_IFSOCK: "is a socket, not a file"}


def read_file(path: Path, file: str, *, text: bool = True
              ) -> tuple[bytearray | None, str | None, Problem | None]:
    """A regular file's bytes and SHA-256, or the problem that stopped the read. With ``text``,
    the file must be UTF-8 without NUL bytes."""
    raw = bytearray()  # (grown in place: no second copy)
    try:
        status = os.stat(path)
        if not stat.S_ISREG(status.st_mode):
            kind = _SPECIAL.get(stat.S_IFMT(status.st_mode), "is a device, not a file")
            return None, None, Problem(file, kind)
        if status.st_size > MAX_BYTES:
            return None, None, Problem(file, f"is larger than {MAX_BYTES >> 30} GiB ("
                                       f"{status.st_size / 2**30:.1f} GiB), the limit for an "
                                       "input file")
        with open(path, "rb") as handle:
            while block := handle.read(_BLOCK):
                raw += block
                if text and raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                    return None, None, Problem(file, "is UTF-16 text; save it as UTF-8")
                if text and (at := raw.find(b"\x00", len(raw) - len(block))) >= 0:
                    return None, None, Problem(file, "is not a text file (it contains NUL "
                                               "bytes)", _line_of(raw, at))
    except FileNotFoundError:  # (stat follows links: the link's target is missing)
        return None, None, Problem(file, "is a symbolic link to a file that does not exist")
    except OSError as exc:
        return None, None, Problem(file, f"cannot be read ({exc.strerror or exc})")
    try:
        if text and not raw.isascii():
            raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, None, Problem(file, f"is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                                   _line_of(raw, exc.start))
    return raw, hashlib.sha256(raw).hexdigest(), None


def _line_of(raw: bytes, offset: int) -> int:
    return len(_LINE_BREAK.findall(raw, 0, offset)) + 1


def _empty(raw: bytes) -> bool:
    return raw.isspace() or raw in (b"", _BOM)  # (removeprefix would copy the whole file)


def _read_csv(raw: bytes, table: Table, file: str) -> tuple[Input | None, list[Problem]]:
    if _empty(raw):
        return None, [Problem(file, "is empty (expected a header line and data rows)")]
    parsed = _arrow_csv(raw)
    if parsed is not None:
        names, cells = parsed
        n_rows = len(cells[0].codes)
        return Input(table, file, names, cells, n_rows, unit="line",
                     find=lambda: _record_lines(raw, n_rows)), []
    records = _records(raw.decode("utf-8-sig"))
    if not records:  # (only blank records, such as "")
        return None, [Problem(file, "is empty (expected a header line and data rows)")]
    if isinstance(records[-1][1], str):
        return None, [Problem(file, records[-1][1], records[-1][0])]
    width = len(records[0][1])
    wrong = [Problem(file, f"has {len(r)} fields, but the header has {width}", line)
             for line, r in records[1:] if len(r) != width]
    if wrong:
        return None, wrong
    columns = list(zip(*(r for _, r in records), strict=True))
    cells = [Cells.of(pd.Series(c[1:], dtype=object)) for c in columns]
    return Input(table, file, list(records[0][1]), cells, len(records) - 1,
                 np.array([line for line, _ in records]), "line"), []


def _records(text: str) -> list[tuple[int, list[str] | str]]:
    """Every record (header first) with its physical start line, as a CSV reader keeps them
    (lines empty or of spaces and tabs skipped); a last entry with a message (str) when the
    rest cannot be read."""
    csv.field_size_limit(2**31 - 1)  # (a long field must not cost the line numbers)
    reader = csv.reader(io.StringIO(text, newline=None), strict=True)
    records, end = [], 0
    try:
        for record in reader:
            start, end = end + 1, reader.line_num
            if len(record) > 1 or (record and record[0].strip(" \t")):
                records.append((start, record))
    except csv.Error as exc:  # (the record that starts after the last one read)
        records.append((end + 1, "has a quoted field that is never closed"
                        if "end of data" in str(exc) else f"cannot be read as CSV ({exc})"))
    return records


def _arrow_csv(raw: bytes) -> tuple[list[str], list[Cells]] | None:
    """The optional fast path: the header and columns as pyarrow's multi-threaded reader reads
    them, or None: the csv module reads the file. Taken only where both give the same cells: no
    quotes (pyarrow accepts text after a closing quote, which the csv module reports, and keeps
    a quoted \\r\\n, which it reads as \\n) and two columns or more (a line of spaces is then a
    wrong field count, and pyarrow refuses the file; the csv module skips such a line). Its
    measured gain: benchmarks/README.md."""
    end = re.search(rb"[\r\n]", raw)
    width = raw.count(b",", 0, end and end.start()) + 1
    if b'"' in raw or width < 2:
        return None
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        return None
    try:
        text = pa.dictionary(pa.int32(), pa.string())
        table = pacsv.read_csv(
            pa.py_buffer(raw),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=4 << 20),
            parse_options=pacsv.ParseOptions(quote_char=False),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": text for i in range(width)}, strings_can_be_null=False))
    except (pa.ArrowException, OverflowError):  # (a field count that differs, a huge line)
        return None
    if table.num_columns != width:
        return None
    cells = [_arrow_cells(c) for c in table.columns]  # (the header is row 0)
    del table
    pa.default_memory_pool().release_unused()  # (the parse's buffers, kept by the allocator)
    return [str(c[0]) for c in cells], [Cells(c.values, c.codes[1:]) for c in cells]


def _record_lines(raw: bytes, n_rows: int) -> np.ndarray:
    """The physical line of every record of a file pyarrow read, header first (none when they
    do not add up): without quotes, a record is a line that is not empty."""
    if b"\r" in raw:  # (\r and \r\n line ends too: the csv module counts them)
        lines = np.array([line for line, _ in _records(raw.decode("utf-8-sig"))])
    else:
        ends = np.flatnonzero(np.frombuffer(raw, np.uint8) == ord("\n"))
        starts = np.concatenate(([0], ends + 1))
        lines = np.flatnonzero(np.append(ends, len(raw)) > starts) + 1
    return lines if len(lines) == n_rows + 1 else lines[:0]


def _arrow_cells(column: object) -> Cells:
    """A pyarrow column as :class:`Cells` (text through its dictionary, no Python strings)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        column = column.dictionary_encode()
    if pa.types.is_dictionary(column.type):
        array = column.combine_chunks()  # (one dictionary for all chunks)
        values = np.append(array.dictionary.to_numpy(zero_copy_only=False), None)
        return Cells(values, array.indices.fill_null(len(values) - 1).to_numpy())
    values = column.to_numpy()
    if pa.types.is_floating(column.type) and pc.any(pc.is_nan(column)).as_py():
        values = values.astype(object)  # (NaN written in the file is not a blank cell)
        values[np.asarray(pc.fill_null(pc.is_nan(column), False))] = "NaN"
    return Cells.of(values)


def _read_jsonl(raw: bytes, table: Table, file: str) -> tuple[Input | None, list[Problem]]:
    if _empty(raw):
        return None, [Problem(file, "is empty (expected one JSON object per line)")]
    records, problems, lines = [], [], [0]
    for number, line in enumerate(raw.decode("utf-8-sig").split("\n"), 1):
        try:
            record = json.loads(line, parse_float=str, parse_constant=str) if line.strip() else None
        except (ValueError, RecursionError) as exc:  # (numbers kept as written: 1e400, NaN)
            at = f" at column {exc.colno}" if hasattr(exc, "colno") else ""
            detail = getattr(exc, "msg", str(exc))
            problems.append(Problem(file, f"is not valid JSON{at} "
                                    f"({show(detail[:1].lower() + detail[1:])})", number))
            continue
        if record is not None and not isinstance(record, dict):
            problems.append(Problem(file, "is not a JSON object (expected one object per line)",
                                    number))
        elif record is not None:
            records.append(record)
            lines.append(number)
    if problems:
        return None, problems
    frame = pd.DataFrame.from_records(records)
    cells = [Cells.of(frame.iloc[:, i]) for i in range(frame.shape[1])]
    return Input(table, file, list(map(str, frame.columns)), cells, len(frame), lines, "line"), []


def _read_parquet(raw: bytes, table: Table, file: str) -> tuple[Input | None, list[Problem]]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None, [Problem(file, "needs pyarrow to be read (pip install "
                              "'teamforge-analysis[parquet]')")]
    try:
        text = [c.name for c in table.columns if c.kind == "text"]
        data = pq.read_table(pa.py_buffer(raw), read_dictionary=text, use_threads=False)
    except Exception as exc:  # pyarrow raises several unrelated types for bad files
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, [Problem(file, f"cannot be read as Parquet ({show(detail)})")]
    inp = Input(table, file, data.column_names, [], data.num_rows, range(data.num_rows + 1),
                "line", no_rows="has no records")
    for name, column in zip(data.column_names, data.columns, strict=True):
        kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
        plain = any(test(kind) for test in (pa.types.is_string, pa.types.is_large_string,
                                            pa.types.is_integer, pa.types.is_floating,
                                            pa.types.is_boolean, pa.types.is_null))
        # (an unknown column is only named in a warning: its cells are never looked at)
        known = name.strip() in table.by_name
        inp.cells.append(_parquet_cells(column) if plain and known else None)
        if not plain and known:  # (the rules across files then wait)
            inp.add(f"has Parquet type {show(kind)}, not text, a number or a boolean", None,
                    name)
    del data  # (what the cells do not use of the decoded table goes back to the system,
    pa.default_memory_pool().release_unused()  # which pyarrow's allocator would keep)
    return inp, []


def _parquet_cells(column: object) -> Cells:
    """A Parquet column as :class:`Cells`. Whole numbers by their distinct values and a code
    per row (pyarrow's ``dictionary_encode``): a step log's run, step and test counts take a
    few dozen values in millions of rows, so the checks and the key's ranks run over those
    and reach the rows through the codes, as for text. Other columns as :func:`_arrow_cells`
    (floats too: a reward may take as many values as there are rows, and hashing them all
    costs more than checking them)."""
    import pyarrow as pa

    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if not pa.types.is_integer(kind):
        return _arrow_cells(column)
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    array = column.combine_chunks()  # (one dictionary for all chunks)
    values = array.dictionary.to_numpy(zero_copy_only=False)  # (a null value: missing)
    codes = array.indices
    if codes.null_count:  # (missing cells: one more value, missing, as floats like to_numpy's)
        values = pd.Series(values, dtype="float64").reindex(range(len(values) + 1)).to_numpy()
        codes = codes.fill_null(len(values) - 1)
    return Cells(values, codes.to_numpy())


_READERS = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}


def read_input(path: Path, table: Table, file: str | None = None
               ) -> tuple[Input | None, list[Problem], str | None]:
    """One file read for :func:`.validate.check`: the input (None when nothing could be
    read), the file-level problems, and the SHA-256 of its bytes."""
    file = file or path.name
    fmt = path.suffix.lstrip(".")
    raw, sha, problem = read_file(path, file, text=fmt != "parquet")
    if raw is None:
        return None, [problem], None
    inp, problems = _READERS[fmt](raw, table, file)
    return inp, problems, sha


def find_step_log(folder: Path) -> tuple[Path | None, list[Problem]]:
    """The folder's step log, or None; a problem for every log beyond the first."""
    found = [folder / n for n in STEP_LOG_NAMES if os.path.lexists(folder / n)]
    extra = [Problem(f.name, f"is a second step log next to {found[0].name}; keep only one")
             for f in found[1:]]
    return (found[0] if found else None), extra

