"""The ``teamforge-analysis`` command.

Exit status: 0 on success (also when the reader of stdout goes away: the outputs are written);
2 on bad input or outputs that cannot be written (the problems on stderr, one per line, no
traceback, nothing written); 130 when interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ._fmt import one_line
from .validate import DataValidationError

if TYPE_CHECKING:  # (the analysis is imported when it runs: --help stays fast)
    from .analysis import Analysis

__all__ = ["build_parser", "main", "write_atomically"]

EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="teamforge-analysis",
        description="Analyse TeamForge benchmark results: leaderboard and findings, each with "
        "its statistics and a rule-based verdict. Writes findings.json and findings.md to "
        "--out and one PNG per finding (plus the leaderboard) to --figures.",
    )
    parser.add_argument("--data", type=Path, default=None, metavar="DIR",
                        help="data folder with results.csv, models.csv, tasks.csv and "
                        "optionally a step log, steps.jsonl, steps.csv or steps.parquet "
                        "(default: the bundled TeamForge data)")
    parser.add_argument("--aggregate", choices=("mean", "best"), default="mean",
                        help="how a model's runs of a task are combined when results.csv has "
                        "a run column: their mean (default; a cell passes when more than half "
                        "its flagged runs pass, else by its mean score) or the best run "
                        "(highest score, the published best-of-N protocol)")
    parser.add_argument("--pairs", choices=("adjacent", "all"), default="adjacent",
                        help="which pairs of models the leaderboard's paired comparisons "
                        "test: those adjacent in the ranking (default) or all pairs")
    parser.add_argument("--out", type=Path, default=Path("results"), metavar="DIR",
                        help="where findings.json and findings.md go (default: results)")
    parser.add_argument("--figures", type=Path, default=Path("figures"), metavar="DIR",
                        help="where the PNG figures go (default: figures)")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                        help="what goes to stdout: a console summary (text), findings.md "
                        "(markdown) or findings.json (json); default: text")
    parser.add_argument("--no-figures", action="store_true", help="do not draw figures")
    return parser


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and those of its ancestors that do not exist yet, outermost first."""
    missing: list[Path] = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing[::-1]


def write_atomically(outputs: dict[Path, bytes]) -> None:
    """Write every file or none: all go to temporary files first, then each is moved into place.

    Folders are created only once the outputs are known; files already in the target folders
    that are not among ``outputs`` are left alone. If moving a file into place fails (a folder
    where a file should go, a full disk), the files already moved are put back as they were, the
    temporary files are removed and the folders created here are removed again. Hidden
    temporary and backup files that a killed run left next to the same outputs are removed
    first (:func:`_remove_leftovers`). A failure is raised as an OSError naming the output or
    its folder, as given.
    """
    _remove_leftovers(outputs)
    created: list[Path] = []
    temporaries: dict[Path, Path] = {}
    backups: dict[Path, Path | None] = {}  # target -> its earlier content (None: it was new)
    try:
        for target in outputs:
            if target.is_dir():
                raise IsADirectoryError(errno.EISDIR, "a folder is in the way", str(target))
        for target in outputs:
            for folder in _missing_folders(target.parent):
                folder.mkdir()
                created.append(folder)
        for target, data in outputs.items():
            with _located(target.parent):
                temporaries[target] = _temporary_file(target, ".tmp")
                with open(temporaries[target], "wb") as stream:
                    stream.write(data)
        for target, temporary in temporaries.items():
            with _located(target):
                backups[target] = _backup(target)
                os.replace(temporary, target)
    except BaseException:
        for target, backup in reversed(backups.items()):
            with contextlib.suppress(OSError):
                if backup is None:
                    target.unlink(missing_ok=True)
                else:
                    os.replace(backup, target)
                    # rename() does nothing when both names are links to one file (the move
                    # never happened): the backup name is then still there.
                    backup.unlink(missing_ok=True)
        for temporary in temporaries.values():
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
        for folder in reversed(created):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    for backup in backups.values():
        if backup is not None:
            with contextlib.suppress(OSError):
                backup.unlink()


#: The hidden files a run makes next to its outputs: ``.NAME.PID.XXXXXXXX.tmp`` (the new
#: content) and ``.bak`` (the old content, until the new is in place). Versions before the
#: process id was part of the name made ``.NAME.XXXXXXXX.tmp``.
_TEMPORARY = re.compile(r"\.(?P<name>.+?)\.(?:(?P<pid>[0-9]+)\.)?[a-z0-9_]{8}\.(?:tmp|bak)")


def _remove_leftovers(outputs: dict[Path, bytes]) -> None:
    """Remove the temporary and backup files of the outputs' names that a run killed while it
    wrote (SIGKILL, a power cut) left behind.

    Only files of a process that no longer exists are removed, so a run writing to the same
    folder at the same time keeps its own. Best effort: a folder that cannot be read here
    fails later, when the outputs are written, with a message.
    """
    names: dict[Path, set[str]] = {}
    for target in outputs:
        names.setdefault(target.parent, set()).add(target.name)
    for folder, wanted in names.items():
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                match = _TEMPORARY.fullmatch(entry.name)
                if (match and match["name"] in wanted and entry.is_file(follow_symlinks=False)
                        and not _alive(match["pid"])):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)


def _alive(pid: str | None) -> bool:
    """Whether the process that named a temporary file may still be writing it."""
    if pid is None:
        return False  # made by a version that did not name its process: long finished
    try:
        os.kill(int(pid), 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except (OverflowError, ValueError):
        return False  # not a process id this system could have
    except OSError:
        return True  # another user's process (EPERM): it exists
    return True


@contextlib.contextmanager
def _located(path: Path) -> Iterator[None]:
    """An OSError about a hidden temporary file (named absolute by mkstemp), or about no file
    at all (a full disk while writing), is re-raised about ``path``, the output or its folder
    as the user named it."""
    try:
        yield
    except OSError as exc:
        unnamed = exc.filename is None or _TEMPORARY.fullmatch(
            Path(os.fsdecode(exc.filename)).name)
        if unnamed and exc.errno is not None:
            raise type(exc)(exc.errno, exc.strerror, str(path)) from exc
        raise


def _temporary_file(target: Path, suffix: str) -> Path:
    """A new, empty, hidden file next to ``target`` (same file system, so moves are atomic),
    named after this process so that a later run can tell a leftover from a live file."""
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.",
                                    suffix=suffix)
    os.close(handle)
    # mkstemp creates files readable by the owner only; outputs are ordinary files.
    os.chmod(name, 0o666 & ~_umask())
    return Path(name)


def _backup(target: Path) -> Path | None:
    """A second name (a hard link, else a copy) for ``target``'s content; None if it is new."""
    if not target.exists():
        return None
    backup = _temporary_file(target, ".bak")
    try:
        backup.unlink()
        os.link(target, backup)
    except OSError:
        shutil.copy2(target, backup)
    return backup


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status.

    Never ends in a traceback for a closed pipe or a terminal that cannot show a character:
    unencodable characters on stdout are replaced, and a reader that goes away (``| head -1``)
    ends the printing quietly, with exit 0 once the outputs are written.
    """
    _tolerate_unencodable(sys.stdout)
    try:
        return _run(build_parser().parse_args(argv))
    except KeyboardInterrupt:
        # write_atomically leaves the outputs all new or all as they were; a traceback would
        # add nothing.
        _say("interrupted", sys.stderr)
        return EXIT_INTERRUPTED


#: Exit status after Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


def _tolerate_unencodable(stream: object) -> None:
    """Replace what ``stream``'s encoding cannot hold (``PYTHONIOENCODING=ascii``, a C locale)
    instead of raising UnicodeEncodeError halfway through the summary."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(ValueError, OSError):
            reconfigure(errors="replace")


def _silence(stream: object) -> None:
    """Point ``stream``'s file descriptor at /dev/null once its reader has gone, so that the
    interpreter's final flush does not raise BrokenPipeError again."""
    with contextlib.suppress(AttributeError, ValueError, OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())  # type: ignore[attr-defined]
        os.close(devnull)


def _say(text: str, stream: TextIO | None) -> None:
    """Print one message line; a closed pipe (nobody reading any more) is not an error."""
    if stream is None:
        return  # started with the stream closed (`2>&-`): print() would use stdout instead
    try:
        print(text, file=stream, flush=True)
    except BrokenPipeError:
        _silence(stream)


def _run(args: argparse.Namespace) -> int:
    # Imported here so that `--help` and argument errors stay fast.
    from .analysis import analyze
    from .report import to_json, to_markdown

    try:
        analysis = analyze(args.data, aggregate=args.aggregate, pairs=args.pairs)
    except DataValidationError as exc:
        for problem in exc.problems:
            _say(f"error: {problem}", sys.stderr)
        # Warnings often explain the errors (a model renamed in results.csv only).
        for warning in exc.warnings:
            _say(f"warning: {warning}", sys.stderr)
        return EXIT_BAD_INPUT
    for warning in analysis.dataset.warnings:
        _say(f"warning: {warning}", sys.stderr)

    document = analysis.document
    json_text = to_json(document)
    markdown_text = to_markdown(document)
    outputs = {
        # A lone surrogate (a folder name that is not UTF-8) becomes a JSON escape, \udcff,
        # which keeps findings.json valid JSON; findings.md shows such characters escaped.
        args.out / "findings.json": json_text.encode("utf-8", "backslashreplace"),
        args.out / "findings.md": markdown_text.encode("utf-8", "backslashreplace"),
    }
    stale = [] if args.no_figures else _figures(analysis, args.figures, outputs)
    try:
        write_atomically(outputs)
        for path in stale:
            path.unlink(missing_ok=True)
    except OSError as exc:
        _say(f"error: cannot write outputs: {_where(exc)}", sys.stderr)
        return EXIT_BAD_INPUT

    if sys.stdout is None:
        return 0  # started with stdout closed (`>&-`): the outputs are written, nothing to show
    try:
        if args.format == "json":
            sys.stdout.write(json_text)
        elif args.format == "markdown":
            sys.stdout.write(markdown_text)
        else:
            from .console import print_console

            print_console(document)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader stopped reading (`| head -1`): the outputs are written, nothing failed.
        _silence(sys.stdout)
    return 0


def _figures(analysis: Analysis, folder: Path, outputs: dict[Path, bytes]) -> list[Path]:
    """Add the figures' PNG bytes to ``outputs``; return the paths of the figures of not
    computable findings, to be removed once all is written (none is left from a past run)."""
    from . import plots  # matplotlib is imported only when figures are drawn

    outputs[folder / "leaderboard.png"] = plots.png_bytes(
        plots.leaderboard(analysis.uncertainty, analysis.dataset))
    stale = []
    for finding in analysis.findings:
        figure, path = finding.figure(), folder / f"{finding.id}.png"
        if figure is not None:
            outputs[path] = plots.png_bytes(figure)
        else:
            stale.append(path)
    return stale


def _where(exc: OSError) -> str:
    """``Permission denied (results)``: the reason and the path it concerns, on one line."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    where = one_line(os.fsdecode(exc.filename)) if exc.filename else "output folder"
    return f"{reason} ({where})"
