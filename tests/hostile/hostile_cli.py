"""The hostile-input campaign's harness (issue 15): every command runs as a real ``dlstudio``
process under a time limit (:data:`SECONDS`) and an address-space limit (:data:`MEMORY`, with
the thread-stack and malloc-arena settings TensorFlow needs to start inside it), with HOME and
TMPDIR inside ``tmp_path``; a snapshot of ``tmp_path`` before and after tells what the command
touched."""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOOKS = Path(__file__).resolve().parent / "cli_hooks.py"
#: What one command may take: 60 s and 2 GB of address space (TensorFlow alone reserves most of it).
SECONDS = 60
MEMORY = 2 * 1024 ** 3
#: What every command's user-facing failure looks like, and what it must never look like.
NEVER = ("Traceback", "This is a bug", "unexpected ")


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    seconds: float
    peak_rss: int  # bytes: the command's largest resident size

    @property
    def text(self) -> str:
        return f"{self.out}\n{self.err}"


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_STACK, (2 * 1024 ** 2, resource.getrlimit(resource.RLIMIT_STACK)[1]))


def environment(root: Path, **extra: str) -> dict[str, str]:
    home, tmp = root / "home", root / "tmp"
    home.mkdir(exist_ok=True)
    tmp.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "TMPDIR": str(tmp),
           "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "MALLOC_ARENA_MAX": "2",
           "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow"), "CUDA_VISIBLE_DEVICES": "",
           "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"), "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def run_dlstudio(args: list, cwd: Path, root: Path, hook: str | None = None, timeout: float = SECONDS,
                 **env: str) -> Outcome:
    """``dlstudio ARGS`` in ``cwd`` as a child process under the limits; ``hook``: run it through
    cli_hooks.py with that hook (DLSTUDIO_HOOK) instead."""
    command = [sys.executable, "-m", "dlstudio", *map(str, args)] if hook is None else \
        [sys.executable, str(HOOKS), *map(str, args)]
    if hook is not None:
        env["DLSTUDIO_HOOK"] = hook
    t0 = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, cwd=cwd, env=environment(root, **env), stdout=out, stderr=err,
                                preexec_fn=_limits, text=True)
        peak = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _peak_resident(proc.pid, command))
            if time.monotonic() - t0 > timeout:
                proc.kill()
                os.wait4(proc.pid, 0)
                err.seek(0)
                raise AssertionError(f"dlstudio {' '.join(map(str, args))} ran over {timeout} s:\n{err.read()[-3000:]}")
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Outcome(proc.returncode, out.read(), err.read(), time.monotonic() - t0, peak)


def _peak_resident(pid: int, command: list) -> int:
    """The child's peak resident size so far (VmHWM), once it runs ``command``: before its exec
    a forked child still maps the parent's pages, and wait4's ru_maxrss would count the test
    process's own size (gigabytes after a suite of models), not the command's. The RLIMIT_AS
    set before the exec bounds the command whatever this samples."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if [c.decode(errors="replace") for c in cmdline[:len(command)]] != [str(c) for c in command]:
            return 0  # not exec'd yet
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def snapshot(root: Path, skip: tuple[str, ...] = ("home", "tmp")) -> dict[str, tuple]:
    """``{relative path: (kind, mode, digest)}`` of everything under ``root`` (links not followed)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel.split("/")[0] in skip:
            continue
        st = path.lstat()
        if path.is_symlink():
            out[rel] = ("link", st.st_mode, os.readlink(path))
        elif path.is_file():
            out[rel] = ("file", st.st_mode, hashlib.sha1(path.read_bytes()).hexdigest())
        else:
            out[rel] = ("dir", st.st_mode, None)
    return out


def assert_refused(outcome: Outcome, *located: str) -> None:
    """Exit 1, a message on stderr holding every text of ``located``, no traceback, no 'bug', in time."""
    assert outcome.code == 1, f"exit {outcome.code}\n{outcome.text[-3000:]}"
    for bad in NEVER:
        assert bad not in outcome.text, f"{bad!r} reached the user:\n{outcome.text[-3000:]}"
    lines = [ln for ln in outcome.err.splitlines() if ln.startswith("error:") or ln.startswith("  - ")]
    assert lines, f"no error line:\n{outcome.err[-3000:]}"
    message = "\n".join(lines)
    for text in located:
        assert text in message, f"{text!r} not in the message:\n{message}"
    assert outcome.seconds < SECONDS
    assert outcome.peak_rss < MEMORY
