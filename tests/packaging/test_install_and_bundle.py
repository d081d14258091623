"""``pip install .`` gives the ``dlstudio`` command, ``python -m dlstudio`` and the resources;
the PyInstaller spec builds an application folder whose ``dlstudio --version`` answers.

Both are slow (a wheel build and an install; a PyInstaller build) and run in CI. The bundle
test builds without TensorFlow outside CI (DLSTUDIO_BUNDLE_LEAN=1: 1-2 minutes on two cores,
3.5 minutes when they are busy; 240 MB) and checks --version, --help and that the window
opens; in CI (CI=true) or with DLSTUDIO_BUNDLE_FULL=1 it builds the release bundle (7 to 17 minutes measured here on
two shared cores, about 3 once PyInstaller's binary cache is warm; 1.9 GB) and also runs a
command that needs TensorFlow from it.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

import pytest

from dlstudio import __version__

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=kw.pop("env", ENV), check=False, **kw)


@pytest.mark.slow
def test_pip_install_gives_the_command_the_module_and_the_resources(tmp_path):
    wheel_dir = tmp_path / "wheels"
    done = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", wheel_dir,
                ROOT], cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = wheel_dir.glob("dlstudio-*.whl")
    venv = tmp_path / "venv"
    assert run([sys.executable, "-m", "venv", "--without-pip", venv], timeout=120).returncode == 0
    python = venv / "bin" / "python"
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    # the dependencies (TensorFlow, PySide6, ...) come from this environment, the app from the wheel
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel], timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    env = {**ENV, "PATH": f"{venv / 'bin'}{os.pathsep}{ENV.get('PATH', '')}", "PYTHONPATH": ""}
    for cmd in ([venv / "bin" / "dlstudio", "--version"], [python, "-m", "dlstudio", "--version"]):
        done = run(cmd, env=env, cwd=tmp_path, timeout=120)
        assert done.returncode == 0 and done.stdout.strip() == f"dlstudio {__version__}", (cmd, done.stderr)
    assert (venv / "bin" / "dlstudio-gui").is_file()
    probe = run([python, "-c", "import dlstudio, sys; print(dlstudio.__file__); print(dlstudio.RESOURCES)"],
                env=env, cwd=tmp_path, timeout=60).stdout.split()
    assert probe[0].startswith(str(venv)), probe  # the installed copy, not the source tree
    resources = Path(probe[1])
    assert resources == venv / "share" / "dlstudio" / "resources"
    assert (resources / "examples" / "digits_cnn.dlsproj").is_file() and (resources / "icons" / "dlstudio.svg").is_file()
    assert (venv / "share" / "applications" / "io.github.dlstudio.DLStudio.desktop").is_file()
    done = run([venv / "bin" / "dlstudio", "summary", resources / "examples" / "xor_mlp.dlsproj"], env=env,
               cwd=tmp_path, timeout=300)
    assert done.returncode == 0 and "Total params" in done.stdout, done.stderr[-2000:]


def window_opens(exe: Path, tmp_path: Path, timeout: float = 90.0) -> bool:
    """Start the bundled app offscreen and wait for its first window (the start-up timing line)."""
    env = {**ENV, "QT_QPA_PLATFORM": "offscreen", "DLSTUDIO_STARTUP_TIMING": "1",
           "DLSTUDIO_CONFIG_DIR": str(tmp_path / "config")}
    proc = subprocess.Popen([str(exe)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            cwd=tmp_path)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1.0)
            except queue.Empty:
                if proc.poll() is not None and lines.empty():
                    break
                continue
            seen.append(line)
            if line.startswith("first_window_s"):
                return True
        print("".join(seen[-30:]))
        return False
    finally:
        proc.kill()
        proc.wait(30)


@pytest.mark.slow
def test_pyinstaller_bundle_answers_version(tmp_path):
    pytest.importorskip("PyInstaller")
    # CI builds the release bundle (TensorFlow inside): that is what ships
    full = os.environ.get("DLSTUDIO_BUNDLE_FULL", "1" if os.environ.get("CI") == "true" else "0") == "1"
    env = {**ENV, "PYTHON": sys.executable, "DLSTUDIO_BUILD_DIR": str(tmp_path / "work")}
    if not full:
        env["DLSTUDIO_BUNDLE_LEAN"] = "1"
    start = time.perf_counter()
    done = run(["bash", ROOT / "packaging" / "build.sh", tmp_path / "dist"], env=env, cwd=tmp_path, timeout=3600)
    took = time.perf_counter() - start
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    print(f"bundle ({'full' if full else 'lean'}) built in {took:.0f} s")
    app = tmp_path / "dist" / "dlstudio"
    exe = app / "dlstudio"
    version = run([exe, "--version"], cwd=tmp_path, timeout=120)
    assert version.returncode == 0 and version.stdout.strip() == f"dlstudio {__version__}", version.stderr
    assert (app / "_internal" / "resources" / "examples" / "digits_cnn.dlsproj").is_file()
    assert (app / "share" / "applications" / "io.github.dlstudio.DLStudio.desktop").is_file()
    assert (app / "share" / "icons" / "hicolor" / "256x256" / "apps" / "dlstudio.png").is_file()
    helped = run([exe, "--help"], cwd=tmp_path, timeout=120)
    assert helped.returncode == 0 and "export" in helped.stdout
    assert window_opens(exe, tmp_path), "the bundled app did not show its window"
    if full:  # the release bundle trains: a command that needs TensorFlow
        summary = run([exe, "summary", app / "_internal" / "resources" / "examples" / "xor_mlp.dlsproj"],
                      cwd=tmp_path, timeout=300)
        assert summary.returncode == 0 and "Total params" in summary.stdout, summary.stderr[-2000:]
