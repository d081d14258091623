"""Icons drawn with QPainter, and the colour table shared by palette and canvas.

Layer icons are a rounded square in the category's colour with a short glyph
(``C2`` for Conv2D, ``+`` for Add). Everything is cached: build icons only after
a QGuiApplication exists.
"""

from __future__ import annotations

import functools
import hashlib
import re

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap

#: Palette category -> colour (mid-saturation: readable on light and dark backgrounds).
CATEGORY_COLORS: dict[str, str] = {
    "Input": "#43A047",
    "Core": "#1E88E5",
    "Activation": "#F9A825",
    "Convolution": "#7E57C2",
    "Pooling": "#00897B",
    "Normalization": "#E57373",
    "Regularization": "#8D6E63",
    "Reshaping": "#78909C",
    "Merging": "#D81B60",
    "Recurrent": "#F4511E",
    "Attention": "#3949AB",
    "Augmentation": "#9E9D24",
    "Preprocessing": "#00ACC1",
}

#: Short glyphs for the icons; types not listed get their initials.
GLYPHS: dict[str, str] = {
    "Input": "In", "Dense": "D", "Embedding": "Em",
    "Activation": "fx", "ReLU": "Re", "LeakyReLU": "LR", "PReLU": "PR", "ELU": "EL", "Softmax": "Sm",
    "Conv1D": "C1", "Conv2D": "C2", "Conv3D": "C3", "Conv1DTranspose": "T1", "Conv2DTranspose": "T2",
    "SeparableConv2D": "S2", "DepthwiseConv2D": "D2",
    "MaxPooling1D": "M1", "MaxPooling2D": "M2", "MaxPooling3D": "M3",
    "AveragePooling1D": "A1", "AveragePooling2D": "A2", "AveragePooling3D": "A3",
    "GlobalAveragePooling1D": "GA", "GlobalAveragePooling2D": "GA",
    "GlobalMaxPooling1D": "GM", "GlobalMaxPooling2D": "GM",
    "BatchNormalization": "BN", "LayerNormalization": "LN", "GroupNormalization": "GN",
    "Dropout": "Do", "SpatialDropout1D": "SD", "SpatialDropout2D": "SD", "GaussianNoise": "Gn",
    "Flatten": "Fl", "Reshape": "Rs", "Permute": "Pm", "RepeatVector": "RV",
    "UpSampling1D": "U1", "UpSampling2D": "U2", "ZeroPadding1D": "Z1", "ZeroPadding2D": "Z2",
    "Cropping1D": "Cr", "Cropping2D": "Cr",
    "Add": "+", "Subtract": "\u2212", "Multiply": "\u00d7", "Average": "\u03bc", "Maximum": "Mx",
    "Concatenate": "\u2225", "Dot": "\u00b7",
    "SimpleRNN": "RN", "LSTM": "LS", "GRU": "GR", "Bidirectional": "Bi", "TimeDistributed": "TD",
    "MultiHeadAttention": "At",
    "RandomFlip": "rF", "RandomRotation": "rR", "RandomZoom": "rZ", "RandomTranslation": "rT",
    "RandomCrop": "rC", "RandomContrast": "rK",
    "Rescaling": "Sc", "Resizing": "Rz", "Normalization": "Nz",
}

_SIZES = (16, 20, 24, 32, 40, 48, 64)


def category_color(category: str) -> QColor:
    """The colour of a palette category (a stable made-up colour for unknown ones)."""
    hex_ = CATEGORY_COLORS.get(category)
    if hex_ is None:
        hue = int(hashlib.md5(category.encode()).hexdigest()[:4], 16) % 360
        return QColor.fromHsl(hue, 110, 120)
    return QColor(hex_)


def glyph_for(type_name: str) -> str:
    """The one- or two-character glyph drawn on a layer's icon."""
    if type_name in GLYPHS:
        return GLYPHS[type_name]
    words = re.findall(r"[A-Z][a-z]*|[0-9]+|[a-z]+", type_name)
    if len(words) >= 2:
        return (words[0][0].upper() + words[1][0]).strip()[:2]
    return type_name[:2].title() or "?"


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether a palette (by default the application's) has a dark window."""
    from PySide6.QtGui import QGuiApplication

    pal = palette if palette is not None else QGuiApplication.palette()
    return pal.color(QPalette.ColorRole.Window).lightnessF() < 0.5


def contrast_text(background: QColor) -> QColor:
    """Near-white or near-black, whichever reads better on ``background``."""
    r, g, b = background.redF(), background.greenF(), background.blueF()
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return QColor("#202124") if luminance > 0.6 else QColor("#ffffff")


def severity_color(severity: str, palette: QPalette | None = None) -> QColor:
    """Text colour for an error/warning/ok message, tuned to a light or dark palette."""
    dark = is_dark(palette)
    table = {
        "error": ("#c62828", "#ff6b6b"),
        "warning": ("#a86400", "#ffb74d"),
        "info": ("#1565c0", "#64b5f6"),
        "ok": ("#2e7d32", "#81c784"),
    }
    light_c, dark_c = table.get(severity, table["info"])
    return QColor(dark_c if dark else light_c)


# ----------------------------------------------------------------- drawing
def _pixmap(size: int) -> QPixmap:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    return pm


def _glyph_font(size: int, text: str) -> QFont:
    font = QFont()
    font.setBold(True)
    scale = 0.56 if len(text) <= 1 else 0.44 if len(text) == 2 else 0.34
    font.setPixelSize(max(6, round(size * scale)))
    return font


def _draw_badge(p: QPainter, size: int, color: QColor, text: str) -> None:
    rect = QRectF(0.5, 0.5, size - 1, size - 1)
    radius = size * 0.22
    p.setPen(QPen(color.darker(125), max(1.0, size / 32)))
    p.setBrush(color)
    p.drawRoundedRect(rect, radius, radius)
    p.setPen(contrast_text(color))
    p.setFont(_glyph_font(size, text))
    p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


def _icon(draw) -> QIcon:
    icon = QIcon()
    for size in _SIZES:
        pm = _pixmap(size)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        draw(p, size)
        p.end()
        icon.addPixmap(pm)
        icon.addPixmap(pm, QIcon.Mode.Selected)  # no highlight tint on selected rows
    return icon


@functools.cache
def layer_icon(type_name: str, category: str) -> QIcon:
    """The icon of a layer type: its category colour with a short glyph."""
    color = category_color(category)
    text = glyph_for(type_name)
    return _icon(lambda p, s: _draw_badge(p, s, color, text))


@functools.cache
def category_icon(category: str) -> QIcon:
    """A small dot in the category's colour (for category rows)."""
    color = category_color(category)

    def draw(p: QPainter, s: int) -> None:
        d = s * 0.5
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(color)
        p.drawEllipse(QRectF((s - d) / 2, (s - d) / 2, d, d))

    return _icon(draw)


@functools.cache
def severity_icon(severity: str) -> QIcon:
    """A round red "!" for errors, an amber triangle for warnings, a green tick for "ok"."""
    colors = {"error": QColor("#e5484d"), "warning": QColor("#f5a524"), "info": QColor("#3e8ed0"),
              "ok": QColor("#30a46c")}
    color = colors.get(severity, colors["info"])

    def draw(p: QPainter, s: int) -> None:
        m = s * 0.06
        if severity == "warning":
            path = QPainterPath()
            path.moveTo(s / 2, m + s * 0.04)
            path.lineTo(s - m, s - m - s * 0.04)
            path.lineTo(m, s - m - s * 0.04)
            path.closeSubpath()
            p.setPen(QPen(color.darker(115), max(1.0, s / 24), Qt.PenStyle.SolidLine,
                          Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
            p.setBrush(color)
            p.drawPath(path)
        else:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(color)
            p.drawEllipse(QRectF(m, m, s - 2 * m, s - 2 * m))
        fg = contrast_text(color) if severity != "warning" else QColor("#202124")
        pen = QPen(fg, max(1.4, s * 0.11), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                   Qt.PenJoinStyle.RoundJoin)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        if severity == "ok":
            path = QPainterPath(QPointF(s * 0.3, s * 0.52))
            path.lineTo(s * 0.45, s * 0.67)
            path.lineTo(s * 0.71, s * 0.36)
            p.drawPath(path)
        elif severity == "info":
            p.drawLine(QPointF(s / 2, s * 0.47), QPointF(s / 2, s * 0.72))
            p.drawPoint(QPointF(s / 2, s * 0.3))
        else:
            top, bottom = (s * 0.38, s * 0.62) if severity == "warning" else (s * 0.27, s * 0.55)
            dot = s * 0.76 if severity == "warning" else s * 0.73
            p.drawLine(QPointF(s / 2, top), QPointF(s / 2, bottom))
            p.drawPoint(QPointF(s / 2, dot))

    return _icon(draw)


@functools.cache
def _search_icon(rgba: int) -> QIcon:
    color = QColor.fromRgba(rgba)

    def draw(p: QPainter, s: int) -> None:
        pen = QPen(color, max(1.3, s * 0.1), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        r = s * 0.26
        c = QPointF(s * 0.43, s * 0.43)
        p.drawEllipse(c, r, r)
        p.drawLine(QPointF(s * 0.62, s * 0.62), QPointF(s * 0.84, s * 0.84))

    return _icon(draw)


def search_icon(palette: QPalette | None = None) -> QIcon:
    """A magnifier drawn in the palette's secondary text colour."""
    from PySide6.QtGui import QGuiApplication

    pal = palette if palette is not None else QGuiApplication.palette()
    return _search_icon(pal.color(QPalette.ColorRole.PlaceholderText).rgba())
