"""The canvas as a picture: the whole network drawn into a PNG or SVG file."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QImage, QPainter

from app.editor.scene import GraphScene

__all__ = ["export_scene"]


def export_scene(scene: GraphScene, path: str | Path, title: str = "") -> None:
    """Draw every card and wire of ``scene`` (with a 30-unit margin, selection cleared)
    into ``path``: an SVG (vector, one unit a pixel, ``title`` as its title) for a
    ``.svg`` suffix, else a PNG at twice the scene's resolution on the theme's canvas
    colour.

    Raises:
        OSError: if the picture cannot be written.
    """
    path = Path(path)
    scene.refresh()
    scene.clearSelection()
    rect = scene.items_rect().adjusted(-30, -30, 30, 30)
    if rect.isEmpty():
        rect = QRectF(0, 0, 400, 300)
    if path.suffix.lower() == ".svg":
        from PySide6.QtSvg import QSvgGenerator

        gen = QSvgGenerator()
        gen.setFileName(str(path))
        gen.setSize(QSize(int(rect.width()), int(rect.height())))
        gen.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
        gen.setTitle(title)
        painter = QPainter(gen)
        _render(scene, painter, rect)
        painter.end()
        return
    image = QImage(int(rect.width() * 2), int(rect.height() * 2), QImage.Format_ARGB32)
    image.fill(scene.theme.color("canvas"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.Antialiasing)
    _render(scene, painter, rect, scale=2)
    painter.end()
    if not image.save(str(path)):
        raise OSError(f"cannot write {path}")


def _render(scene: GraphScene, painter: QPainter, rect: QRectF, scale: float = 1.0) -> None:
    target = QRectF(0, 0, rect.width() * scale, rect.height() * scale)
    painter.fillRect(target, scene.theme.color("canvas"))
    scene.render(painter, target, rect)
