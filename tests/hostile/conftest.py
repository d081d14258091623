"""The hostile-input campaign's fixture; the harness is hostile_cli.py."""

from __future__ import annotations

import pytest
from hostile_cli import Outcome, run_dlstudio, snapshot


@pytest.fixture
def hostile(tmp_path):
    """(run, root): ``run(args, ...)`` runs dlstudio in ``root/work`` and checks afterwards that
    nothing outside ``root`` was written (TMPDIR left empty, the ``outside`` folder untouched)."""
    root = tmp_path
    work, outside = root / "work", root / "outside"
    work.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("not yours\n")

    def run(args: list, cwd=None, **kw) -> Outcome:
        before = snapshot(outside)
        outcome = run_dlstudio(args, cwd or work, root, **kw)
        # TensorFlow's autograph imports the functions it converts from TMPDIR (and leaves their __pycache__)
        left = sorted(p.name for p in (root / "tmp").iterdir() if p.name != "__pycache__")
        assert not left, f"temporary files left behind: {left}"
        assert snapshot(outside) == before, "a file outside the project was touched"
        return outcome

    return run, root
