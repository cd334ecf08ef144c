""""Save grid as PNG": one labelled image of an image sweep's tab (A1111's X/Y plot), with a ``parameters`` chunk.

The column labels run along the top, the row labels down the left, each
cell is its image scaled to one size; the PNG's ``parameters`` text chunk
holds the sweep (the experiment's spec as JSON, the axes of the columns,
rows and tab), so the file says how it was made.  Runs as an ``io`` job:
QImage and QPainter work off the GUI thread.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QImageWriter, QPainter

from desktop.core.errors import GenLabError
from desktop.ui.experiments.layout import GridLayout

CELL = 256
LABEL_H = 36
LABEL_W = 200


def grid_parameters(results, layout: GridLayout, tab: int) -> str:
    e = results.experiment
    return json.dumps({"experiment": {"id": e.id, "name": e.name}, "columns": layout.column_axis,
                       "rows": list(layout.row_axes), "tab": layout.tabs[tab] if layout.tabs else "",
                       "spec": e.spec}, ensure_ascii=False, default=str)


def render_grid(results, layout: GridLayout, tab: int) -> QImage:
    columns, rows = max(1, len(layout.columns)), max(1, len(layout.rows))
    image = QImage(LABEL_W + columns * CELL, LABEL_H + rows * CELL, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    font = QFont()
    font.setPixelSize(16)
    painter.setFont(font)
    painter.setPen(QColor("black"))
    flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
    for c, label in enumerate(layout.columns):
        painter.drawText(QRect(LABEL_W + c * CELL, 0, CELL, LABEL_H), flags, label)
    for r, label in enumerate(layout.rows):
        painter.drawText(QRect(4, LABEL_H + r * CELL, LABEL_W - 8, CELL), flags, label)
    for index, slot in layout.slots.items():
        record = results.records.get(index)
        if slot.tab != tab or record is None:
            continue
        cell = QImage(record.image_path)
        target = QRect(LABEL_W + slot.column * CELL, LABEL_H + slot.row * CELL, CELL, CELL)
        if cell.isNull():
            painter.drawText(target, flags, "missing")
            continue
        painter.drawImage(target, cell.scaled(CELL, CELL, Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation))
    painter.end()
    return image


def save_grid_job(results, layout: GridLayout, tab: int, path: str, *, cancel, progress) -> str:
    image = render_grid(results, layout, tab)
    writer = QImageWriter(path, b"png")
    writer.setText("parameters", grid_parameters(results, layout, tab))
    if not writer.write(image):
        raise GenLabError(f"Could not save the grid to {path}: {writer.errorString()}.",
                          "Choose a folder you can write to.")
    return path
