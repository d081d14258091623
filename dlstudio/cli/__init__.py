"""The headless command line, on the same core functions as the GUI.

One module per command group (``project``: validate, summary, import; ``train``;
``evaluate``: evaluate, predict; ``data``; ``insight``: featuremaps, saliency;
``explain``: explain, embed;
``attack``; ``experiments``: search, diff; ``gan``: sample; ``export``; ``sequences``: generate, translate,
forecast), each with a ``register(subparsers)``; what they share is public in
:mod:`dlstudio.cli.common`.

Exit codes: 0 success, 1 bad input (the message of a DLStudioError or an OSError,
as it is, never a traceback), 2 usage. Heavy modules (TensorFlow) are imported
inside the commands that need them, so ``dlstudio --help`` answers at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from dlstudio import __version__
from dlstudio.cli import attack, data, evaluate, experiments, explain, export, gan, insight, project, sequences, train
from dlstudio.cli.common import UserError, print_error
from dlstudio.errors import DLStudioError, is_out_of_memory

#: The command groups, in the order ``--help`` lists their commands.
GROUPS = (project, train, experiments, evaluate, insight, explain, attack, gan, export, sequences, data)

__all__ = ["GROUPS", "UserError", "build_parser", "main", "run_cli"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlstudio",
        description="DL Studio: design, train and understand neural networks. "
                    "With no command, opens the desktop app.")
    parser.add_argument("--version", action="version", version=f"dlstudio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command (``argv`` without the program name; default: ``sys.argv[1:]``)."""
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        if getattr(args, "needs_keras", True):  # quietly, before a command imports it
            from dlstudio.backend import load_keras

            load_keras()
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (dlstudio data list | head)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (DLStudioError, OSError) as exc:  # bad input: its message, as it is
        print_error(exc)
        return 1
    except Exception as exc:  # a bug: say so plainly, keep the traceback for reports
        if os.environ.get("DLSTUDIO_DEBUG"):
            raise
        if is_out_of_memory(exc):  # outside the checks made before allocating (a model build, an array)
            print(f"error: ran out of memory ({type(exc).__name__}); the project or file asks for more memory "
                  "than this machine has: make the model, the batch or the data smaller", file=sys.stderr)
            return 1
        print_error(exc)
        print("This is a bug in DL Studio; run again with DLSTUDIO_DEBUG=1 to see the traceback.", file=sys.stderr)
        return 1


def run_cli(argv: Sequence[str]) -> int:
    """:func:`main` with explicit arguments (what the tests and ``python -m dlstudio`` call)."""
    return main(argv)
