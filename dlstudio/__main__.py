"""``dlstudio`` and ``python -m dlstudio``: the desktop app with no arguments,
the command line with a command."""

from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from dlstudio.cli import DEFAULT_EXAMPLE, run_cli

    if not args:
        # The desktop app is its own issue; until it lands, the no-argument
        # launch runs the headless main job on the default example.
        print(f"DL Studio: training the default example {DEFAULT_EXAMPLE.name} headlessly "
              "(the desktop window is not built yet).")
        code = run_cli(["summary", str(DEFAULT_EXAMPLE)])
        return code or run_cli(["train", str(DEFAULT_EXAMPLE)])
    return run_cli(args)


if __name__ == "__main__":
    sys.exit(main())
