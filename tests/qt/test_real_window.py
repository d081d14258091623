"""The real window under Xvfb, driven by real X events (xdotool).

Everything else in tests/qt runs offscreen with synthetic Qt events; this test
checks what only a real display exercises: a palette drag through Qt's xcb
drag-and-drop (which needs real pointer motion), and a wire dragged between
ports with a real mouse. ``real_window_driver.py`` runs the main window in a
subprocess and writes the screen coordinates the test aims at to a JSON probe.

Needs Xvfb and xdotool (installed with apt-get when missing and running as
root, as CI does); skipped with the reason when they cannot be had.
Screenshots go to tests/artifacts/ (real_window.png, real_window@2x.png).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "real_window_driver.py"
ARTIFACTS = HERE.parent / "artifacts"
WINDOW = (1280, 800)  # logical pixels; the X screen is this times the scale factor

APT_PACKAGES = ["xvfb", "xauth", "xdotool", "imagemagick", "libxcb-icccm4", "libxcb-keysyms1",
                "libxcb-cursor0", "libxkbcommon-x11-0", "libegl1"]
LIBS = ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-cursor.so.0", "libxkbcommon-x11.so.0",
        "libEGL.so.1"]


# ------------------------------------------------------------------ tools
def _missing() -> list[str]:
    missing = [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]
    try:
        cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=20).stdout
        missing += [lib for lib in LIBS if lib not in cache]
    except (OSError, subprocess.SubprocessError):
        pass  # no ldconfig: let Qt say what it lacks
    return missing


@pytest.fixture(scope="module")
def x_tools() -> None:
    """Xvfb and xdotool on PATH (and Qt's xcb libraries), installing them if we may."""
    if not sys.platform.startswith("linux"):
        pytest.skip("real-window test needs Linux with Xvfb")
    missing = _missing()
    if missing and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        try:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=300)
            subprocess.run(["apt-get", "install", "-y", "-qq", *APT_PACKAGES], env=env,
                           capture_output=True, timeout=600)
        except (OSError, subprocess.SubprocessError):
            pass
        missing = _missing()
    if any(tool in missing for tool in ("Xvfb", "xdotool")):
        pytest.skip(f"Xvfb/xdotool not available and could not be installed (missing: {', '.join(missing)})")


class Xvfb:
    """An X server of our own on a free display (Xvfb picks it: -displayfd)."""

    def __init__(self, width: int, height: int):
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24",
             "-nolisten", "tcp", "-noreset"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(write_fd)
        number = b""
        try:
            deadline = time.monotonic() + 15
            while not number.endswith(b"\n"):
                ready, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
                chunk = os.read(read_fd, 16) if ready else b""
                if not chunk:
                    self.stop()
                    err = self.proc.stderr.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"Xvfb did not start: {err}")
                number += chunk
        finally:
            os.close(read_fd)
        self.display = f":{int(number)}"

    def stop(self) -> None:
        _stop(self.proc)


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


# ------------------------------------------------------------------ the app
class App:
    """The driver subprocess and its probe."""

    def __init__(self, display: str, scale: int, tmp: Path):
        self.display = display
        self.probe = tmp / "probe.json"
        self.log_path = tmp / "app.log"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("QT_", "WAYLAND_")) and k != "XAUTHORITY"}
        env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", QT_SCALE_FACTOR=str(scale),
                   QT_AUTO_SCREEN_SCALE_FACTOR="0", DLSTUDIO_CONFIG_DIR=str(tmp / "config"),
                   TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, str(DRIVER), str(self.probe), *map(str, WINDOW)],
                                     env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=str(HERE.parent.parent))

    def state(self) -> dict:
        try:
            return json.loads(self.probe.read_text())
        except (OSError, ValueError):
            return {}

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def wait_for(self, what: str, pred, timeout: float) -> dict:
        """Poll the probe until ``pred(state)``; fail with the app's log if it never holds."""
        deadline = time.monotonic() + timeout
        state: dict = {}
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the app exited ({self.proc.returncode}) waiting for {what}:\n{self.log()}")
            state = self.state()
            if state and pred(state):
                return state
            time.sleep(0.1)
        brief = {k: state.get(k) for k in ("ready", "node_count", "edge_count", "status", "errors", "error")}
        pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; last probe {brief}\n{self.log()}")

    def stop(self) -> None:
        _stop(self.proc)
        self._log.close()


def xdo(display: str, *args: object) -> None:
    subprocess.run(["xdotool", *map(str, args)], env=dict(os.environ, DISPLAY=display), check=True,
                   timeout=30, capture_output=True)


def drag(display: str, start: tuple[int, int], end: tuple[int, int], steps: int = 16) -> None:
    """Press at ``start``, move to ``end`` in small steps, release: one xdotool chain.

    Qt starts a drag only after motion beyond the drag distance while pressed,
    and its xcb drag-and-drop follows real motion events; the pauses let the
    app process each one.
    """
    (x0, y0), (x1, y1) = start, end
    chain: list[object] = ["mousemove", "--sync", x0, y0, "sleep", 0.15, "mousedown", 1, "sleep", 0.1]
    for i in range(1, steps + 1):
        chain += ["mousemove", round(x0 + (x1 - x0) * i / steps), round(y0 + (y1 - y0) * i / steps),
                  "sleep", 0.04]
    chain += ["sleep", 0.2, "mouseup", 1]
    xdo(display, *chain)


def screenshot(display: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if shutil.which("import"):
        subprocess.run(["import", "-window", "root", str(path)], env=dict(os.environ, DISPLAY=display),
                       timeout=30, capture_output=True)


# ------------------------------------------------------------------ the test
@pytest.mark.parametrize("scale", [1, 2], ids=["1x", "2x"])
def test_drag_layer_from_palette_and_connect_with_real_mouse(x_tools, tmp_path, scale):
    xvfb = app = None
    try:
        xvfb = Xvfb(WINDOW[0] * scale, WINDOW[1] * scale)
        app = App(xvfb.display, scale, tmp_path)
        state = app.wait_for("the window and the layer catalog", lambda s: s.get("ready"), timeout=45)
        assert state["dpr"] == pytest.approx(scale)
        assert state["node_count"] == 1 and state["edge_count"] == 0
        assert state["dense_item"] is not None, "the Dense palette item is not on screen"

        # 1. a real drag and drop: the "Dense" palette item onto the canvas centre
        x, y, w, h = state["dense_item"]
        cx, cy, cw, ch = state["canvas"]
        drop = (cx + cw // 2, cy + ch // 2)
        drag(xvfb.display, (x + min(w // 2, 40 * scale), y + h // 2), drop)
        state = app.wait_for("the dropped Dense node", lambda s: s["node_count"] == 2, timeout=10)
        dense = next(n for n in state["nodes"] if n["type"] == "Dense")
        source = next(n for n in state["nodes"] if n["type"] == "Input")
        assert len(dense["inputs"]) == 1 and len(source["outputs"]) == 1
        # it landed where it was dropped (within the node's size)
        assert abs(dense["centre"][0] - drop[0]) < 60 * scale and abs(dense["centre"][1] - drop[1]) < 60 * scale

        # 2. a wire: the Input's output port (bottom) to the Dense input port (top)
        drag(xvfb.display, tuple(source["outputs"][0]), tuple(dense["inputs"][0]), steps=10)
        state = app.wait_for("the new edge", lambda s: s["edge_count"] == 1, timeout=10)
        assert state["edges"] == [{"src": source["id"], "dst": dense["id"]}]
        state = app.wait_for("the shape pass of the wired graph",  # not the one before the wire
                             lambda s: any(dense["id"] in p["node_ids"] for p in s["problems"])
                             and not any("not connected" in p["message"] for p in s["problems"]), timeout=10)
        # the new layer is the model's output: its size against xor's 2 classes is the one problem,
        # on the Dense, with a one-click fix
        assert [p["node_ids"] for p in state["problems"] if p["severity"] == "error"] == [[dense["id"]]]
        assert all(p["fix"] for p in state["problems"] if p["severity"] == "error"), state["problems"]
        assert "Connected" in state["status"]
        assert not state["errors"], state["errors"]
        time.sleep(0.3)  # let the last repaint land before the screenshot
        screenshot(xvfb.display, ARTIFACTS / ("real_window.png" if scale == 1 else f"real_window@{scale}x.png"))
        assert "Traceback" not in app.log(), app.log()
    finally:
        if app is not None:
            app.stop()
        if xvfb is not None:
            xvfb.stop()
