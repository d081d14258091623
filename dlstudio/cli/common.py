"""What every command shares: reading the project, the meaning of ``--run`` and
``--runs-dir``, number checks, output streams, tables and pictures, the error line.

Light at import (no numpy, no TensorFlow): ``dlstudio --help`` builds every parser.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from dlstudio.errors import DLStudioError, user_message

#: ``--run`` in a command that reads a trained run (``best`` applies where runs record a test loss).
RUN_HELP = ("the run: its id, a unique id prefix, 'last' (the newest trained run; default), 'best' "
            "(the lowest test loss) or the path of a run folder")
#: ``--run`` for GAN runs, which record no test loss.
GAN_RUN_HELP = "the run: its id, a unique id prefix, 'last' (default) or the path of a run folder"
RUNS_DIR_HELP = "the folder the project's runs are in (default: NAME.runs beside the project)"


class UserError(DLStudioError):
    """Bad command-line input (a file that cannot be written, a name that is not there):
    printed as ``error: <message>``, exit code 1."""


# ---------------------------------------------------------------- arguments
def whole_number(minimum: int, what: str = "a whole number"):
    """An argparse type: a whole number of at least ``minimum`` (``what`` names it in errors)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


positive_int = whole_number(1)
#: A sample number: 0 or more.
sample_index = whole_number(0, "a sample number")
#: The largest seed NumPy and Keras take (a seed is 0 .. 2**32 - 1).
MAX_SEED = 2**32 - 1


def seed_number(text: str) -> int:
    """An argparse type: a seed, a whole number from 0 to 2**32 - 1."""
    value = whole_number(0, "a seed (a whole number)")(text)
    if value > MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SEED} (2**32 - 1), got {value}")
    return value


def add_project_argument(p: argparse.ArgumentParser, help: str = "a .dlsproj file") -> None:
    p.add_argument("project", help=help)


def add_runs_dir_argument(p: argparse.ArgumentParser, help: str = RUNS_DIR_HELP) -> None:
    """``--runs-dir DIR`` (alias ``--run-dir``): where the project's runs are, or go."""
    p.add_argument("--runs-dir", "--run-dir", dest="runs_dir", metavar="DIR", help=help)


def add_run_arguments(p: argparse.ArgumentParser, *, default: str | None = "last", help: str = RUN_HELP,
                      weights: bool = True) -> None:
    """``--run REF`` and ``--runs-dir DIR`` of a command that reads a run (and ``--weights``)."""
    p.add_argument("--run", default=default, metavar="RUN", help=help)
    add_runs_dir_argument(p)
    if weights:
        p.add_argument("--weights", choices=("last", "best"), default="last",
                       help="the run's weights at the end of training (default) or of its best epoch")


# ---------------------------------------------------------- project and run
def load_project(path: str) -> Any:
    """The project in ``path`` (ProjectError, a DLStudioError naming the file, when unreadable)."""
    from dlstudio.project import load_project as load

    return load(path)


def resolve_run(project: Any, ref: Any = "last", runs_dir: str | None = None, *, kind: str | None = None,
                otherwise: str | None = None) -> Any:
    """The Run that ``--run ref`` (and ``--runs-dir``) name: the one place the command line
    turns them into a run, through :meth:`dlstudio.runs.RunStore.find`. ``otherwise``: what
    else the user can do when there is no run yet (added to the NoRunsYet message)."""
    from dlstudio.runs import NoRunsYet, store_for

    try:
        return store_for(project, runs_dir).find("last" if ref is None else ref, kind=kind)
    except NoRunsYet as exc:
        train = f"dlstudio train {project.path.name}" + (f" --runs-dir {runs_dir}" if runs_dir else "")
        raise NoRunsYet(f"{exc} ({train}{f', or {otherwise}' if otherwise else ''})") from None


def run_from_args(project: Any, args: argparse.Namespace, *, kind: str | None = None,
                  otherwise: str | None = None) -> Any:
    """:func:`resolve_run` for a command's ``--run`` and ``--runs-dir``."""
    return resolve_run(project, args.run, getattr(args, "runs_dir", None), kind=kind, otherwise=otherwise)


# ------------------------------------------------------------------ output
def human_out(as_json: bool) -> TextIO:
    """Where the human-readable lines go: stderr when ``--json`` keeps stdout for the JSON."""
    return sys.stderr if as_json else sys.stdout


def print_json(value: Any) -> None:
    """One JSON line on stdout (``--json``)."""
    print(json.dumps(value, default=str))


def fmt_int(n: int) -> str:
    return f"{n:,}"


def table(rows: list[tuple[str, ...]], right_from: int = 1) -> list[str]:
    """Rows as aligned text lines; columns from ``right_from`` on are right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) if j < right_from else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths)))
            for r in rows]


def write_png(picture: Any, path: str) -> Any:
    """Save ``picture`` as a PNG (UserError naming the file when it cannot be written)."""
    from dlstudio.data.grid import save_png

    try:
        return save_png(picture, path)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


def print_error(exc: BaseException) -> None:
    """``error: <message>`` on stderr: the message of a DLStudioError or OSError as it is."""
    print(f"error: {user_message(exc)}", file=sys.stderr)
