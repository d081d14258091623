"""One place where messages and errors from any thread land.

``notifications().notify(message, severity, details)`` may be called from any
thread; the notification is delivered on the GUI thread through a queued
signal, appended to the history and announced with ``posted``.
``install_excepthooks()`` turns uncaught exceptions (GUI thread, Qt slots and
``threading.Thread``s) into error notifications with the traceback as details,
while still handing them to the previous hooks (which print them to stderr).

``NotificationArea`` shows the latest message in a status bar; a click opens
the list of all notifications with their details.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from PySide6.QtCore import (
    QCoreApplication, QEasingCurve, QObject, QRectF, QSize, Qt, QTimer, QVariantAnimation, Signal,
    Slot,
)
from PySide6.QtGui import QColor, QFontDatabase, QGuiApplication, QIcon, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPlainTextEdit, QSizePolicy,
    QSplitter, QStyle, QToolButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget,
)

SEVERITIES = ("info", "warning", "error")
MAX_HISTORY = 500


@dataclass(frozen=True)
class Notification:
    message: str
    severity: str = "info"
    details: str = ""
    time: datetime = field(default_factory=datetime.now)
    thread: str = ""  # name of the thread that posted it

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def text(self) -> str:
        """Everything, as plain text (for copying into a bug report)."""
        head = f"[{self.time:%Y-%m-%d %H:%M:%S}] {self.severity.upper()}: {self.message}"
        return f"{head}\n{self.details}".rstrip() if self.details else head


class NotificationCenter(QObject):
    """Collects notifications; ``posted`` is always emitted on the GUI thread."""

    posted = Signal(object)  # Notification
    cleared = Signal()
    _incoming = Signal(object)

    def __init__(self, parent: QObject | None = None, max_history: int = MAX_HISTORY):
        super().__init__(parent)
        self.max_history = max_history
        self._history: list[Notification] = []
        # Auto connection: direct when posted on the centre's own thread, queued otherwise.
        self._incoming.connect(self._deliver)

    def notify(self, message: str, severity: str = "info", details: str = "") -> Notification:
        """Post a notification; safe from any thread."""
        if severity not in SEVERITIES:
            severity = "error" if severity in ("critical", "fatal") else "info"
        n = Notification(str(message), severity, str(details or ""),
                         thread=threading.current_thread().name)
        self._incoming.emit(n)
        return n

    def info(self, message: str, details: str = "") -> Notification:
        return self.notify(message, "info", details)

    def warning(self, message: str, details: str = "") -> Notification:
        return self.notify(message, "warning", details)

    def error(self, message: str, details: str = "") -> Notification:
        return self.notify(message, "error", details)

    def exception(self, exc: BaseException, message: str | None = None) -> Notification:
        """An error notification for a caught exception, traceback in the details."""
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return self.notify(message or _describe(exc), "error", details)

    @Slot(object)
    def _deliver(self, n: Notification) -> None:
        self._history.append(n)
        if len(self._history) > self.max_history:
            del self._history[: len(self._history) - self.max_history]
        self.posted.emit(n)

    @property
    def history(self) -> list[Notification]:
        """Delivered notifications, oldest first (a copy)."""
        return list(self._history)

    @property
    def latest(self) -> Notification | None:
        return self._history[-1] if self._history else None

    def clear(self) -> None:
        self._history.clear()
        self.cleared.emit()


_center: NotificationCenter | None = None
_center_lock = threading.Lock()


def notifications() -> NotificationCenter:
    """The application's notification centre (created on first use, living on
    the GUI thread whichever thread asks first)."""
    global _center
    if _center is None:
        with _center_lock:
            if _center is None:
                center = NotificationCenter()
                app = QCoreApplication.instance()
                if app is not None and center.thread() is not app.thread():
                    center.moveToThread(app.thread())
                _center = center
    return _center


def notify(message: str, severity: str = "info", details: str = "") -> Notification:
    """Shorthand for ``notifications().notify(...)``."""
    return notifications().notify(message, severity, details)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


# ------------------------------------------------------------------ excepthooks
_previous: tuple[Callable, Callable] | None = None


def _sys_hook(exc_type, exc_value, exc_tb) -> None:
    if not issubclass(exc_type, KeyboardInterrupt):
        try:
            details = "".join(traceback.format_exception(exc_type, exc_value, exc_tb))
            notifications().notify(f"Unexpected error: {_describe(exc_value)}", "error", details)
        except Exception:  # never let reporting hide the original error
            pass
    prev = _previous[0] if _previous else sys.__excepthook__
    prev(exc_type, exc_value, exc_tb)


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is not SystemExit and args.exc_value is not None:
        try:
            name = args.thread.name if args.thread is not None else "a thread"
            details = "".join(traceback.format_exception(args.exc_type, args.exc_value,
                                                         args.exc_traceback))
            notifications().notify(f"Error in {name}: {_describe(args.exc_value)}", "error",
                                   details)
        except Exception:
            pass
    prev = _previous[1] if _previous else threading.__excepthook__
    prev(args)


def install_excepthooks() -> None:
    """Forward uncaught exceptions to the notification centre (idempotent).

    The hooks that were installed before keep being called (for stderr logging).
    """
    global _previous
    if _previous is not None:
        return
    notifications()  # create it now, on this (the GUI) thread
    _previous = (sys.excepthook, threading.excepthook)
    sys.excepthook = _sys_hook
    threading.excepthook = _thread_hook


def uninstall_excepthooks() -> None:
    """Restore the hooks that were in place before :func:`install_excepthooks`."""
    global _previous
    if _previous is None:
        return
    if sys.excepthook is _sys_hook:
        sys.excepthook = _previous[0]
    if threading.excepthook is _thread_hook:
        threading.excepthook = _previous[1]
    _previous = None


# ------------------------------------------------------------------------ widgets
_ICONS = {
    "info": QStyle.StandardPixmap.SP_MessageBoxInformation,
    "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
}


def severity_icon(severity: str, widget: QWidget | None = None) -> QIcon:
    style = widget.style() if widget is not None else QApplication.style()
    return style.standardIcon(_ICONS.get(severity, _ICONS["info"]), None, widget)


def _severity_color(severity: str, palette: QPalette) -> QColor:
    from dlstudio.qt.theme import canvas_colors

    colors = canvas_colors(palette)
    return colors["error"] if severity == "error" else colors["warning"] if severity == "warning" \
        else palette.color(QPalette.ColorRole.Highlight)


class NotificationsDialog(QDialog):
    """All notifications, newest first, with the details of the selected one."""

    def __init__(self, center: NotificationCenter, parent: QWidget | None = None):
        super().__init__(parent)
        self.center = center
        self.setWindowTitle("Notifications")
        self.resize(720, 460)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Time", "Message"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setStretchLastSection(True)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setPlaceholderText("Select a notification to see its details.")
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.tree)
        split.addWidget(self.details)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.setToolTip("Copy the selected notification (or all) to the clipboard")
        self.clear_button = buttons.addButton("Clear All", QDialogButtonBox.ButtonRole.ResetRole)
        buttons.rejected.connect(self.reject)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setDefault(True)
        self.clear_button.setAutoDefault(False)
        self.copy_button.setAutoDefault(False)
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        self.clear_button.clicked.connect(center.clear)
        layout = QVBoxLayout(self)
        layout.addWidget(split)
        layout.addWidget(buttons)
        self.tree.currentItemChanged.connect(self._show_details)
        center.posted.connect(self._add)
        center.cleared.connect(self._reload)
        self._reload()

    def _item(self, n: Notification) -> QTreeWidgetItem:
        item = QTreeWidgetItem([f"{n.time:%H:%M:%S}", n.message.splitlines()[0] if n.message else ""])
        item.setIcon(0, severity_icon(n.severity, self))
        item.setToolTip(1, n.message)
        item.setData(0, Qt.ItemDataRole.UserRole, n)
        return item

    @Slot(object)
    def _add(self, n: Notification) -> None:
        self.tree.insertTopLevelItem(0, self._item(n))
        self.clear_button.setEnabled(True)

    def _reload(self) -> None:
        self.tree.clear()
        items = [self._item(n) for n in reversed(self.center.history)]
        self.tree.addTopLevelItems(items)
        self.tree.resizeColumnToContents(0)
        if items:
            self.tree.setCurrentItem(items[0])
        else:
            self.details.clear()
        self.clear_button.setEnabled(bool(items))

    def _show_details(self, item: QTreeWidgetItem | None, _prev=None) -> None:
        n = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        if n is None:
            self.details.clear()
            return
        body = n.message + ("\n\n" + n.details if n.details else "")
        if n.thread and n.thread != "MainThread":
            body += f"\n\n(posted from thread {n.thread})"
        self.details.setPlainText(body)

    def copy_to_clipboard(self) -> None:
        item = self.tree.currentItem()
        n = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        text = n.text() if n is not None else "\n\n".join(x.text() for x in self.center.history)
        QGuiApplication.clipboard().setText(text)


class NotificationArea(QWidget):
    """The latest notification with its severity icon, for a status bar.

    Click to open the list of all notifications. Errors (and, more softly,
    warnings) flash the area for a few seconds; unseen errors are counted in a
    small badge until the list is opened.
    """

    FLASH_MS = 2600
    MAX_TEXT_WIDTH = 420

    def __init__(self, center: NotificationCenter | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.center = center or notifications()
        self._dialog: NotificationsDialog | None = None
        self._latest: Notification | None = None
        self._unseen_errors = 0
        self._flash = 0.0
        self._flash_color = QColor()

        self.button = QToolButton(self)
        self.button.setAutoRaise(True)
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.button.setIconSize(QSize(16, 16))
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.button.clicked.connect(self.show_all)
        self.badge = QLabel(self)
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.badge.setMinimumWidth(18)
        self.badge.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 0)
        layout.setSpacing(2)
        layout.addWidget(self.button)
        layout.addWidget(self.badge)

        self._anim = QVariantAnimation(self)
        self._anim.setDuration(self.FLASH_MS)
        self._anim.setStartValue(0.0)
        self._anim.setKeyValueAt(0.08, 1.0)
        self._anim.setKeyValueAt(0.55, 1.0)
        self._anim.setEndValue(0.0)
        self._anim.setEasingCurve(QEasingCurve.Type.InOutQuad)
        self._anim.valueChanged.connect(self._set_flash)

        self.center.posted.connect(self._on_posted)
        self.center.cleared.connect(self._on_cleared)
        self._show(self.center.latest)
        self._update_badge()

    # ------------------------------------------------------------------ state
    @property
    def latest(self) -> Notification | None:
        return self._latest

    def text(self) -> str:
        """The full text of the message shown (the button shows it elided)."""
        return self._latest.message if self._latest is not None else ""

    @property
    def unseen_errors(self) -> int:
        return self._unseen_errors

    def is_flashing(self) -> bool:
        return self._anim.state() == QVariantAnimation.State.Running

    @Slot(object)
    def _on_posted(self, n: Notification) -> None:
        self._show(n)
        dialog_open = self._dialog is not None and self._dialog.isVisible()
        if n.severity == "error" and not dialog_open:
            self._unseen_errors += 1
            self._update_badge()
        if n.severity in ("error", "warning"):
            self.flash(n.severity)

    def clear_shown(self) -> None:
        """Show no message (another project was opened); the list keeps them all."""
        self._show(None)

    def _on_cleared(self) -> None:
        self._unseen_errors = 0
        self._update_badge()
        self._show(None)

    def _show(self, n: Notification | None) -> None:
        self._latest = n
        if n is None:
            self.button.setIcon(QIcon())
            self.button.setText("")
            self.button.setToolTip("No notifications")
            self.button.setEnabled(bool(self.center.history))
            return
        first = n.message.splitlines()[0] if n.message else ""
        fm = self.button.fontMetrics()
        self.button.setIcon(severity_icon(n.severity, self))
        self.button.setText(fm.elidedText(first, Qt.TextElideMode.ElideRight, self.MAX_TEXT_WIDTH)
                            .replace("&", "&&"))
        tip = f"{n.message}\n\n{n.time:%H:%M:%S} · click to see all notifications"
        self.button.setToolTip(tip if len(tip) < 2000 else tip[:2000] + "…")
        self.button.setEnabled(True)

    def _update_badge(self) -> None:
        count = self._unseen_errors
        if count <= 0:
            self.badge.hide()
            return
        color = _severity_color("error", self.palette())
        self.badge.setText(str(count) if count < 100 else "99+")
        self.badge.setToolTip(f"{count} new error{'s' if count != 1 else ''}")
        self.badge.setStyleSheet(
            f"QLabel {{ background: {color.name()}; color: white; border-radius: 8px;"
            " padding: 0px 5px; font-weight: bold; }")
        self.badge.show()

    # ---------------------------------------------------------------- flashing
    def flash(self, severity: str = "error") -> None:
        """A transient highlight that draws the eye to a new problem."""
        self._flash_color = _severity_color(severity, self.palette())
        self._anim.stop()
        self._anim.start()

    def _set_flash(self, value) -> None:
        self._flash = float(value)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if self._flash > 0.001 and self._flash_color.isValid():
            p = QPainter(self)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            fill = QColor(self._flash_color)
            fill.setAlphaF(0.35 * self._flash)
            border = QColor(self._flash_color)
            border.setAlphaF(0.9 * self._flash)
            p.setPen(border)
            p.setBrush(fill)
            p.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
            p.end()
        super().paintEvent(event)

    # ------------------------------------------------------------------ dialog
    def show_all(self) -> NotificationsDialog:
        """Open (or raise) the list of all notifications."""
        if self._dialog is None:
            self._dialog = NotificationsDialog(self.center, self.window())
        self._unseen_errors = 0
        self._update_badge()
        self._dialog.show()
        self._dialog.raise_()
        self._dialog.activateWindow()
        return self._dialog

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        from PySide6.QtCore import QEvent

        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            QTimer.singleShot(0, self, self._refresh_style)  # dropped if self is deleted

    def _refresh_style(self) -> None:
        self._show(self._latest)
        self._update_badge()
