"""Light and dark themes: the Fusion style with hand-picked palettes.

``apply_theme(app, mode)`` sets the style, the palette and a small stylesheet
for dock titles and tool bars, and remembers the mode in the settings. In
``"system"`` mode the palette follows the platform's colour scheme, also when
it changes while the application runs.

Widgets that paint themselves (the canvas, plots) take their colours from
``canvas_colors(widget.palette())`` and refresh on
``QEvent.Type.ApplicationPaletteChange`` / ``PaletteChange``.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from dlstudio.qt.settings import app_settings

MODES = ("system", "light", "dark")
THEME_KEY = "appearance/theme"

CR = QPalette.ColorRole
CG = QPalette.ColorGroup

# (role, active/inactive colour, disabled colour or None for "same")
_DARK = {
    CR.Window: ("#2b2d30", None),
    CR.WindowText: ("#dfe1e5", "#7b7e85"),
    CR.Base: ("#1e1f22", "#1e1f22"),
    CR.AlternateBase: ("#26282b", None),
    CR.ToolTipBase: ("#393b40", None),
    CR.ToolTipText: ("#dfe1e5", None),
    CR.PlaceholderText: ("#868991", None),
    CR.Text: ("#dfe1e5", "#6f737a"),
    CR.Button: ("#393b40", "#313337"),
    CR.ButtonText: ("#dfe1e5", "#6f737a"),
    CR.BrightText: ("#ff6b68", None),
    CR.Light: ("#4e5157", None),
    CR.Midlight: ("#43454a", None),
    CR.Mid: ("#35373b", None),
    CR.Dark: ("#1b1c1f", None),
    CR.Shadow: ("#0f1012", None),
    CR.Highlight: ("#3574f0", "#43454a"),
    CR.HighlightedText: ("#ffffff", "#9a9da3"),
    CR.Link: ("#589df6", "#5a6f8c"),
    CR.LinkVisited: ("#a571e6", None),
}

_LIGHT = {
    CR.Window: ("#f2f3f5", None),
    CR.WindowText: ("#1f2023", "#9a9ca1"),
    CR.Base: ("#ffffff", "#f7f8fa"),
    CR.AlternateBase: ("#f5f6f8", None),
    CR.ToolTipBase: ("#ffffe8", None),
    CR.ToolTipText: ("#1f2023", None),
    CR.PlaceholderText: ("#8c8f94", None),
    CR.Text: ("#1f2023", "#9a9ca1"),
    CR.Button: ("#f7f8fa", "#eef0f2"),
    CR.ButtonText: ("#1f2023", "#9a9ca1"),
    CR.BrightText: ("#d32f2f", None),
    CR.Light: ("#ffffff", None),
    CR.Midlight: ("#e9ebee", None),
    CR.Mid: ("#c9ccd1", None),
    CR.Dark: ("#a2a6ad", None),
    CR.Shadow: ("#6b6f76", None),
    CR.Highlight: ("#2f6fde", "#d3d6db"),
    CR.HighlightedText: ("#ffffff", "#7a7d82"),
    CR.Link: ("#1a5fd0", "#7d97c2"),
    CR.LinkVisited: ("#7b3fc4", None),
}

STYLESHEET = """
QDockWidget::title {
    padding: 4px 6px;
    background: palette(window);
    border-bottom: 1px solid palette(mid);
}
QToolBar {
    border: none;
    spacing: 2px;
    padding: 2px;
}
QToolBar::separator {
    width: 1px;
    margin: 4px 3px;
    background: palette(mid);
}
QStatusBar::item { border: none; }
"""


def dark_palette() -> QPalette:
    return _build(_DARK)


def light_palette() -> QPalette:
    return _build(_LIGHT)


def _build(spec: dict) -> QPalette:
    pal = QPalette()
    for role, (normal, disabled) in spec.items():
        color = QColor(normal)
        pal.setColor(CG.Active, role, color)
        pal.setColor(CG.Inactive, role, color)
        pal.setColor(CG.Disabled, role, QColor(disabled) if disabled else color)
    if hasattr(CR, "Accent"):  # Qt 6.6+
        for group in (CG.Active, CG.Inactive):
            pal.setColor(group, CR.Accent, pal.color(group, CR.Highlight))
        pal.setColor(CG.Disabled, CR.Accent, pal.color(CG.Disabled, CR.Mid))
    # Inactive selections stay visible, a little quieter.
    sel = QColor(pal.color(CG.Active, CR.Highlight))
    sel.setAlphaF(0.75)
    pal.setColor(CG.Inactive, CR.Highlight, _over(sel, pal.color(CG.Active, CR.Base)))
    return pal


def _over(top: QColor, bottom: QColor) -> QColor:
    """``top`` (with alpha) composed over an opaque ``bottom``."""
    a = top.alphaF()
    return QColor.fromRgbF(top.redF() * a + bottom.redF() * (1 - a),
                           top.greenF() * a + bottom.greenF() * (1 - a),
                           top.blueF() * a + bottom.blueF() * (1 - a))


def _luminance(c: QColor) -> float:
    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF())


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether ``palette`` (default: the application's) draws light text on a dark window."""
    if palette is None:
        palette = QGuiApplication.palette()
    window = palette.color(CR.Window)
    text = palette.color(CR.WindowText)
    return _luminance(window) < _luminance(text)


def system_is_dark() -> bool:
    """The platform's colour scheme (Qt 6.5+), else a guess from the default palette."""
    app = QGuiApplication.instance()
    hints = app.styleHints() if app is not None else None
    if hints is not None and hasattr(hints, "colorScheme"):
        scheme = hints.colorScheme()
        if scheme == Qt.ColorScheme.Dark:
            return True
        if scheme == Qt.ColorScheme.Light:
            return False
    style = QStyleFactory.create("Fusion")
    return is_dark(style.standardPalette()) if style is not None else False


def saved_theme_mode() -> str:
    mode = str(app_settings().value(THEME_KEY, "system") or "system")
    return mode if mode in MODES else "system"


class _SystemFollower(QObject):
    """Re-applies the theme when the platform's colour scheme changes."""

    def __init__(self, app: QApplication):
        super().__init__(app)
        self.mode = "system"
        hints = app.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(self._changed)

    def _changed(self, *_args) -> None:
        app = QApplication.instance()
        if self.mode == "system" and app is not None:
            _apply(app, "system")


_followers: dict[int, _SystemFollower] = {}


def current_mode(app: QApplication | None = None) -> str:
    """The mode last given to :func:`apply_theme` for ``app`` (``"system"`` if none)."""
    app = app or QApplication.instance()
    f = _followers.get(id(app)) if app is not None else None
    return f.mode if f is not None else "system"


def apply_theme(app: QApplication, mode: str | None = None, *, remember: bool = True) -> str:
    """Apply ``"system"``, ``"light"`` or ``"dark"`` (None: the saved mode).

    Returns the effective scheme (``"light"`` or ``"dark"``). An explicit mode
    is stored in the settings unless ``remember`` is false.
    """
    if mode is None:
        mode = saved_theme_mode()
    elif mode not in MODES:
        raise ValueError(f"theme mode must be one of {', '.join(MODES)}, not {mode!r}")
    elif remember:
        s = app_settings()
        s.setValue(THEME_KEY, mode)
        s.sync()
    follower = _followers.get(id(app))
    if follower is None:
        follower = _followers[id(app)] = _SystemFollower(app)
        follower.destroyed.connect(lambda *_a, key=id(app): _followers.pop(key, None))
    follower.mode = mode
    return _apply(app, mode)


def _apply(app: QApplication, mode: str) -> str:
    hints = app.styleHints()
    if hasattr(hints, "setColorScheme"):  # Qt 6.8+: native dialogs and title bars follow
        scheme = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(
            mode, Qt.ColorScheme.Unknown)
        if hints.colorScheme() != scheme or mode == "system":
            try:
                hints.setColorScheme(scheme)
            except Exception:  # some platform themes refuse; the palette is what matters
                pass
    dark = system_is_dark() if mode == "system" else mode == "dark"
    if not _uses_fusion(app):
        app.setStyle("Fusion")
        app.setProperty("dlstudio_fusion", True)
    app.setPalette(dark_palette() if dark else light_palette())
    app.setStyleSheet(STYLESHEET)
    return "dark" if dark else "light"


def _uses_fusion(app: QApplication) -> bool:
    style = app.style()
    if style.name().lower() == "fusion":
        return True
    # With a stylesheet the application style is a QStyleSheetStyle wrapping the
    # real one; the stylesheet is ours only if we set Fusion under it.
    return (style.metaObject().className() == "QStyleSheetStyle"
            and app.property("dlstudio_fusion") is True and app.styleSheet() == STYLESHEET)


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` moved a fraction ``t`` towards ``b``."""
    return QColor.fromRgbF(a.redF() + (b.redF() - a.redF()) * t,
                           a.greenF() + (b.greenF() - a.greenF()) * t,
                           a.blueF() + (b.blueF() - a.blueF()) * t)


CANVAS_KEYS = (
    "background", "grid_minor", "grid_major", "node_body", "node_header", "node_border",
    "text", "muted_text", "selection", "error", "warning", "ok", "edge", "edge_label_background",
    "port",
)


def canvas_colors(palette: QPalette | None = None) -> dict[str, QColor]:
    """Colours for the node-editor canvas that match ``palette``.

    Keys: background, grid_minor, grid_major, node_body, node_header,
    node_border, text, muted_text, selection, error, warning, ok, edge,
    edge_label_background, port. Fresh QColor objects (safe to modify).
    """
    if palette is None:
        palette = QGuiApplication.palette()
    dark = is_dark(palette)
    base = palette.color(CR.Base)
    window = palette.color(CR.Window)
    text = palette.color(CR.Text)
    highlight = palette.color(CG.Active, CR.Highlight)
    if dark:
        background = _mix(base, QColor("#000000"), 0.08)
        colors = {
            "background": background,
            "grid_minor": _mix(background, text, 0.06),
            "grid_major": _mix(background, text, 0.13),
            "node_body": _mix(window, QColor("#ffffff"), 0.04),
            "node_header": _mix(window, QColor("#ffffff"), 0.10),
            "node_border": _mix(window, text, 0.28),
            "muted_text": _mix(text, background, 0.40),
            "error": QColor("#f75464"),
            "warning": QColor("#e6a23c"),
            "ok": QColor("#5fb865"),
            "edge": _mix(background, text, 0.55),
            "edge_label_background": _mix(background, QColor("#ffffff"), 0.06),
            "port": _mix(background, text, 0.70),
        }
    else:
        background = _mix(window, base, 0.55)
        colors = {
            "background": background,
            "grid_minor": _mix(background, text, 0.05),
            "grid_major": _mix(background, text, 0.11),
            "node_body": QColor(base),
            "node_header": _mix(base, window, 0.9),
            "node_border": _mix(base, text, 0.30),
            "muted_text": _mix(text, base, 0.45),
            "error": QColor("#d32f2f"),
            "warning": QColor("#c77700"),
            "ok": QColor("#2e7d32"),
            "edge": _mix(background, text, 0.50),
            "edge_label_background": QColor(base),
            "port": _mix(background, text, 0.60),
        }
    colors["text"] = QColor(text)
    colors["selection"] = QColor(highlight)
    return {k: colors[k] for k in CANVAS_KEYS}
