"""``dlstudio`` and ``python -m dlstudio``: the desktop app with no arguments
or a project file, the command line with a command."""

from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (len(args) == 1 and args[0].endswith(".dlsproj")):
        from dlstudio.qt.app import run_app

        return run_app(args)
    from dlstudio.cli import run_cli

    return run_cli(args)


if __name__ == "__main__":
    sys.exit(main())
