"""The ``teamforge-analysis`` command.

Exit status: 0 on success; 2 on bad input (the problems on stderr, one per line, no traceback,
nothing written).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import errno
import gc
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from .io import DataValidationError

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
                        "its runs pass) or the best run (highest score, the published "
                        "best-of-N protocol)")
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
    temporary files are removed and the folders created here are removed again.
    """
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
            temporaries[target] = _temporary_file(target, ".tmp")
            with open(temporaries[target], "wb") as stream:
                stream.write(data)
        for target, temporary in temporaries.items():
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


def _temporary_file(target: Path, suffix: str) -> Path:
    """A new, empty, hidden file next to ``target`` (same file system, so moves are atomic)."""
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
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
    """Run the command; returns the exit status."""
    args = build_parser().parse_args(argv)
    if gc.get_freeze_count():  # the caller manages the garbage collector: leave it alone
        return _run(args, freeze=lambda: None)
    # The modules imported with the package (pandas, scipy) hold some 100,000 objects that
    # live as long as the process. Frozen, they are skipped by the garbage collector's full
    # collections instead of being scanned again (0.05-0.08 s of a run on the bundled data).
    # Unfrozen at the end, for callers that run main in their own process.
    gc.freeze()
    huge_pages = _use_huge_pages(False)
    try:
        return _run(args, freeze=gc.freeze)
    finally:
        _use_huge_pages(huge_pages)
        gc.unfreeze()
        # When the process ends, Python's last collection frees every module's objects one by
        # one: about 0.3 s of CPU after pandas, scipy and matplotlib (a third of the time of the
        # import floor itself), for memory the operating system takes back anyway. Frozen at
        # exit, they are left to it. Registered once however often main runs.
        atexit.unregister(gc.freeze)
        atexit.register(gc.freeze)


def _use_huge_pages(use: bool | None) -> bool | None:
    """Whether numpy asks Linux for 2 MB pages for its large arrays; returns the previous
    setting (``None``: left alone).

    numpy asks for them by default. The command's large arrays are short-lived: they are made,
    read once or twice and freed, and new memory is then made again. Each new 2 MB page must
    be found and cleared whole, where freed 4 KB pages are reused: measured on a 2-core KVM
    guest (transparent huge pages on request), 10 million result rows ran 0.3-0.5 s faster
    (4.1-4.5 s -> 3.7-4.0 s), a million rows and the step log no slower. A user who sets
    ``NUMPY_MADVISE_HUGEPAGE`` keeps their choice.
    """
    if use is None or "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return None
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # (a numpy without the setting)
        return None
    return bool(_set_madvise_hugepage(use))


def _run(args: argparse.Namespace, *, freeze: Callable[[], None]) -> int:
    # Imported here so that `--help` and argument errors stay fast.
    from .analysis import analyze
    from .report import to_json, to_markdown

    try:
        analysis = analyze(args.data, aggregate=args.aggregate)
    except DataValidationError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        # Warnings often explain the errors (a model renamed in results.csv only).
        for warning in exc.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for warning in analysis.dataset.warnings:
        print(f"warning: {warning}", file=sys.stderr)

    document = analysis.document
    json_text = to_json(document)
    markdown_text = to_markdown(document)
    outputs = {
        args.out / "findings.json": json_text.encode("utf-8"),
        args.out / "findings.md": markdown_text.encode("utf-8"),
    }
    if not args.no_figures:
        from . import plots  # matplotlib is imported only when figures are drawn

        freeze()  # matplotlib's modules too
        outputs[args.figures / "leaderboard.png"] = plots.png_bytes(
            plots.leaderboard(analysis.leaderboard, analysis.dataset))
        for finding in analysis.findings:
            draw = plots.FIGURES.get(finding.id)
            if draw is not None:
                outputs[args.figures / f"{finding.id}.png"] = plots.png_bytes(
                    draw(analysis.dataset, finding))
    try:
        write_atomically(outputs)
    except OSError as exc:
        print(f"error: cannot write outputs: {exc.strerror or exc} "
              f"({exc.filename or 'output folder'})", file=sys.stderr)
        return EXIT_BAD_INPUT

    if args.format == "json":
        sys.stdout.write(json_text)
    elif args.format == "markdown":
        sys.stdout.write(markdown_text)
    else:
        from .report import print_console

        print_console(document)
    return 0
