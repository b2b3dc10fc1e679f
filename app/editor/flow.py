"""How the gradient flow looks on the canvas: each wire's width and colour from the
L2 norm of the gradient dL/d(value) it carries, on a log scale, a legend for that
scale, and the badges of the cards (dead ReLU units, saturated sigmoid/tanh outputs,
where a non-finite number first appeared).

The numbers come from :class:`nncore.training.GradientFlow` (one traced training
minibatch); :class:`app.flow_overlay.FlowOverlay` feeds them in while a run trains.
"""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

from app.theme import Theme

__all__ = ["FlowScale", "flow_pens", "flow_badges", "FlowLegend", "LEVELS", "WIDTHS"]

#: The part of the colour map used per theme: plasma's yellow end is unreadable on
#: white, its dark blue end on the dark canvas.
_MAP = pg.colormap.get("plasma")
_RANGES = {"light": (0.0, 0.82), "dark": (0.3, 1.0)}
#: The number of distinct pens between the smallest and the largest norm.
LEVELS = 24
#: Wire width (screen pixels, at any zoom) for the smallest and the largest norm.
WIDTHS = (1.5, 8.0)
#: A unit figure (a share) is drawn amber from this share, red from the next.
WARN_SHARES = (0.25, 0.5)


class FlowScale:
    """A log scale of gradient norms in whole decades, ``10**lo .. 10**hi``, that only
    grows during a run (so that a wire whose gradient vanishes is seen to fade instead
    of the scale following it down).

    Attributes:
        lo, hi: the decades (integers, ``lo < hi``), None before the first norms.
    """

    def __init__(self) -> None:
        self.lo: int | None = None
        self.hi: int | None = None

    def include(self, low: float, high: float) -> None:
        """Grow the scale to cover ``low .. high`` (positive, finite)."""
        lo, hi = math.floor(math.log10(low)), math.ceil(math.log10(high))
        hi = max(hi, lo + 1)
        self.lo = lo if self.lo is None else min(self.lo, lo)
        self.hi = hi if self.hi is None else max(self.hi, hi)

    def fraction(self, norm: float) -> float:
        """Where ``norm`` sits on the scale, 0 (``10**lo`` or below) to 1 (``10**hi``
        or above); 0 for a norm of 0 and before the scale is known."""
        if self.lo is None or self.hi is None or not norm > 0:
            return 0.0
        f = (math.log10(norm) - self.lo) / (self.hi - self.lo)
        return min(max(f, 0.0), 1.0)


def _color(fraction: float, theme: Theme) -> QColor:
    lo, hi = _RANGES.get(theme.name, _RANGES["light"])
    return _MAP.map(lo + (hi - lo) * fraction, mode="qcolor")


def _width(fraction: float) -> float:
    return WIDTHS[0] + (WIDTHS[1] - WIDTHS[0]) * fraction


_PENS: dict[tuple[str, int], QPen] = {}


def _level_pen(level: int, theme: Theme) -> QPen:
    pen = _PENS.get((theme.name, level))
    if pen is None:  # made once: the canvas repaints with these pens several times a second
        f = level / (LEVELS - 1)
        pen = _PENS[theme.name, level] = QPen(_color(f, theme), _width(f), Qt.SolidLine,
                                              Qt.RoundCap)
        pen.setCosmetic(True)  # screen pixels: the flow stays readable zoomed out
    return pen


def flow_pens(norms: dict[tuple[str, str], float], scale: FlowScale, theme: Theme
              ) -> dict[tuple[str, str], QPen]:
    """The pen of each wire: width and colour by where its norm sits on ``scale``
    (:data:`LEVELS` steps); a norm that is not finite gets the theme's error colour,
    dashed and wide.

    Args:
        norms: (node id, output port) -> the gradient's L2 norm.
        scale: the log scale (grown to the norms by the caller).
        theme: for the error colour.
    """
    bad = QPen(QColor(theme.error), WIDTHS[1], Qt.DashLine, Qt.RoundCap)
    bad.setCosmetic(True)
    pens: dict[tuple[str, str], QPen] = {}
    for key, norm in norms.items():
        if not math.isfinite(norm):
            pens[key] = bad
        else:
            pens[key] = _level_pen(round(scale.fraction(norm) * (LEVELS - 1)), theme)
    return pens


def flow_badges(flow: Any, theme: Theme) -> dict[str, list[tuple[str, str]]]:
    """The badges of the cards for ``flow`` (a :class:`nncore.training.GradientFlow`):
    each unit figure as its name and share (``"dead 40%"``: grey, amber from 25%, red
    from 50%), and ``"NaN first here"`` (or ``"∇ NaN first here"`` for a gradient) on
    the node where a non-finite number first appeared.

    Returns:
        node id -> [(text, colour hex), ...].
    """
    badges: dict[str, list[tuple[str, str]]] = {}
    for nid, figures in flow.unit_stats.items():
        for name, share in figures.items():
            color = (theme.error if share >= WARN_SHARES[1] else
                     "#d98a04" if share >= WARN_SHARES[0] else theme.text_dim)
            badges.setdefault(nid, []).append((f"{name} {share:.0%}", color))
    if flow.first_nonfinite is not None:
        nid, what = flow.first_nonfinite
        text = "NaN first here" if what == "value" else "∇ NaN first here"
        badges.setdefault(nid, []).insert(0, (text, theme.error))
    return badges


def decade_text(d: int) -> str:
    """``10**d`` as a legend writes it: 1, 10, 0.1, 1e-3, 1e+03."""
    return f"{10.0 ** d:g}" if -2 <= d <= 2 else f"1e{d:+d}".replace("+", "")


class FlowLegend(QWidget):
    """The legend of the gradient-flow overlay: sample strokes of each decade of the
    scale with their width and colour, what the badges mean, and the step shown.

    Call :meth:`show_flow` with the scale and the step (None: waiting for the first
    traced batch)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.scale: FlowScale | None = None
        self.step: int | None = None
        self.theme: Theme | None = None
        self.setFixedSize(336, 104)

    def show_flow(self, scale: FlowScale | None, step: int | None, theme: Theme) -> None:
        self.scale, self.step, self.theme = scale, step, theme
        self.update()

    def decades(self) -> list[int]:
        """The decades the legend labels (at most 5, evenly spread, both ends)."""
        s = self.scale
        if s is None or s.lo is None or s.hi is None:
            return []
        every = max(1, math.ceil((s.hi - s.lo) / 4))
        ds = list(range(s.lo, s.hi + 1, every))
        if ds[-1] != s.hi:
            ds.append(s.hi)
        return ds

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        theme = self.theme
        if theme is None:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        bg = QColor(theme.card)
        bg.setAlpha(235)
        p.setPen(QPen(QColor(theme.card_border), 1))
        p.setBrush(bg)
        p.drawRoundedRect(QRectF(0.5, 0.5, self.width() - 1, self.height() - 1), 8, 8)
        font = QFont(self.font())
        font.setPointSizeF(9)
        p.setFont(font)
        p.setPen(QColor(theme.text))
        title = "Gradient flow: ‖dL/d(wire)‖, log scale"
        p.drawText(QRectF(10, 4, self.width() - 20, 18), Qt.AlignLeft | Qt.AlignVCenter, title)
        decades = self.decades()
        if not decades:
            p.setPen(QColor(theme.text_dim))
            p.drawText(QRectF(10, 26, self.width() - 20, 40), Qt.AlignLeft | Qt.TextWordWrap,
                       "Train to see the gradient of the loss on each wire "
                       "(a minibatch is traced a few times a second).")
            return
        span = self.width() - 40
        for i, d in enumerate(decades):
            x = 20 + span * i / max(len(decades) - 1, 1)
            p.setPen(self.sample_pen(d))
            p.drawLine(QPointF(x - 14, 34), QPointF(x + 14, 34))
            p.setPen(QColor(theme.text))
            p.drawText(QRectF(x - 30, 42, 60, 16), Qt.AlignCenter, decade_text(d))
        p.setPen(QColor(theme.text_dim))
        step = f"step {self.step} · " if self.step is not None else ""
        p.drawText(QRectF(10, 62, self.width() - 20, 18), Qt.AlignLeft | Qt.AlignVCenter,
                   f"{step}badges: dead ReLU / saturated units")
        p.drawText(QRectF(10, 80, self.width() - 20, 18), Qt.AlignLeft | Qt.AlignVCenter,
                   "red dashes: a gradient that is not finite")

    def sample_pen(self, decade: int) -> QPen:
        """The pen the legend draws ``decade`` with (what a wire of that norm gets)."""
        return flow_pens({("", ""): 10.0 ** decade}, self.scale, self.theme)["", ""]
