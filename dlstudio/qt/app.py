"""Start the desktop app: the window first, TensorFlow in the background."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Sequence

T0 = time.perf_counter()


def no_display() -> bool:
    """True on Linux without an X or Wayland display and no headless Qt platform."""
    import os

    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_app(argv: Sequence[str] = ()) -> int:
    if no_display():
        print("DL Studio needs a display for its window, and none was found (DISPLAY is not set).\n"
              "Headless commands work without one: dlstudio train PROJECT, dlstudio summary PROJECT, "
              "dlstudio --help.", file=sys.stderr)
        return 1
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from dlstudio.qt.main_window import MainWindow
    from dlstudio.qt.notifications import install_excepthooks
    from dlstudio.qt.theme import apply_theme

    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setApplicationName("DL Studio")
    app.setOrganizationName("DLStudio")
    app.setApplicationDisplayName("DL Studio")
    _set_icon(app)
    apply_theme(app)
    install_excepthooks()
    path = Path(argv[0]) if argv else _default_project()
    window = MainWindow(path, as_copy=not argv)
    window.show()
    QTimer.singleShot(0, lambda: _report("first_window"))
    from dlstudio.qt.keras_loader import loader

    loader().ready.connect(lambda: _report("keras_ready"))
    _report_when(window.editor_is_ready, "editor_ready")
    return app.exec()


def _default_project() -> Path:
    from dlstudio import RESOURCES

    return RESOURCES / "examples" / "digits_cnn.dlsproj"


def _set_icon(app) -> None:
    from dlstudio import RESOURCES

    from PySide6.QtGui import QIcon

    icons = RESOURCES / "icons"
    icon = QIcon()
    for png in sorted((icons / "hicolor").glob("*/apps/dlstudio.png")):  # crisp small sizes first
        icon.addFile(str(png))
    if (icons / "dlstudio.svg").is_file():
        icon.addFile(str(icons / "dlstudio.svg"))
    if not icon.isNull():
        app.setWindowIcon(icon)
    app.setDesktopFileName("io.github.dlstudio.DLStudio")  # Wayland: the .desktop file in packaging/


def _report_when(condition, what: str) -> None:
    """Report ``what`` once ``condition()`` holds (checked every 10 ms; only when timing)."""
    import os

    if not os.environ.get("DLSTUDIO_STARTUP_TIMING"):
        return
    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.setInterval(10)

    def check() -> None:
        if condition():
            timer.stop()
            _report(what)

    timer.timeout.connect(check)
    timer.start()
    _report_when.timer = timer  # kept alive with the app


def _report(what: str) -> None:
    """Start-up timing for benchmarks/startup.py (only when asked for)."""
    import os

    if os.environ.get("DLSTUDIO_STARTUP_TIMING"):
        print(f"{what}_s: {time.perf_counter() - T0:.3f}", flush=True)
