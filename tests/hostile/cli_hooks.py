"""``python cli_hooks.py ARGS``: ``dlstudio ARGS`` with one hook from ``DLSTUDIO_HOOK`` installed,
for the unlucky moments a test cannot otherwise produce (a test helper, never imported by DL Studio):

* ``kill:N:before`` / ``kill:N:after``: SIGKILL this process just before / after the N-th rename
  of a file into place (every file DL Studio writes ends with one, see dlstudio/atomic.py);
* ``kill:N:sync``: SIGKILL it at the N-th fsync (a file written but not yet renamed);
* ``enospc:N``: from the N-th fsync on, every fsync fails as on a full disk (ENOSPC);
* ``no-memory-check``: the checks made before allocating pass everything (an estimate that was
  wrong), so that memory runs out inside Keras or NumPy instead.
"""

from __future__ import annotations

import errno
import os
import signal
import sys


def install(hook: str) -> None:
    kind, _, rest = hook.partition(":")
    if kind == "kill":
        number, _, phase = rest.partition(":")
        target, count = int(number), {"n": 0}
        real = os.fsync if phase == "sync" else os.replace

        def hooked(*args, **kwargs):
            count["n"] += 1
            if count["n"] == target and phase in ("before", "sync"):
                os.kill(os.getpid(), signal.SIGKILL)
            result = real(*args, **kwargs)
            if count["n"] == target and phase == "after":
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        setattr(os, "fsync" if phase == "sync" else "replace", hooked)
    elif kind == "enospc":
        first, count, real_fsync = int(rest), {"n": 0}, os.fsync

        def fsync(fd):
            count["n"] += 1
            if count["n"] >= first:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_fsync(fd)

        os.fsync = fsync
    elif kind == "no-memory-check":
        import dlstudio.bounded

        dlstudio.bounded.check_memory = lambda *a, **k: None
        import dlstudio.compile.build
        import dlstudio.data.dataset  # noqa: F401 - they look the check up at call time

        dlstudio.compile.build.check_memory = lambda *a, **k: None
    else:
        raise SystemExit(f"unknown hook {hook!r}")


if __name__ == "__main__":
    install(os.environ["DLSTUDIO_HOOK"])
    from dlstudio.cli import main

    sys.exit(main(sys.argv[1:]))
