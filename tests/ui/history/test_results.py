"""History result views: thumbnails and previews arrive by signal; headers and grey text stay readable."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from PIL import Image
from PySide6.QtCore import QCoreApplication, QSize, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel

from desktop.core.history.search import Hit
from desktop.core.records import GenerationRecord
from desktop.ui import thumbnails
from desktop.ui.history.details import DetailsPanel
from desktop.ui.history.results import HIT_ROLE, LIST_THUMB, MISSING_COLOR, PLACEHOLDER_COLOR, THUMB, ResultsView
from desktop.ui.history.style import contrast_ratio, secondary_text_color
from desktop.ui.theme import DARK, palette_for

TIMEOUT = 30_000
RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def image_hit(folder, name: str, color, *, thumb_color=None) -> Hit:
    """An image record with a 640x400 PNG (no thumbnail, like an imported one) or a JPEG thumbnail too."""
    path = folder / f"{name}.png"
    Image.new("RGB", (640, 400), color).save(path)
    thumb = ""
    if thumb_color is not None:
        thumb = str(folder / f"{name}.jpg")
        Image.new("RGB", (256, 160), thumb_color).save(thumb, quality=90)
    return Hit(GenerationRecord(kind="image", prompt=f"picture {name}", image_path=str(path), thumbnail_path=thumb),
               0.0, snippet=f"picture {name}")


@pytest.fixture
def hits(tmp_path):
    made = [image_hit(tmp_path, f"r{i}", RED) for i in range(50)]
    made += [image_hit(tmp_path, f"g{i}", RED, thumb_color=GREEN) for i in range(50)]
    return made


def center_rgb(pixmap) -> tuple[int, int, int]:
    image = pixmap.toImage()
    color = image.pixelColor(image.width() // 2, image.height() // 2)
    return color.red(), color.green(), color.blue()


def close_to(rgb, want, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(rgb, want))


def icon_rgb(item) -> tuple[int, int, int]:
    return center_rgb(item.icon().pixmap(QSize(THUMB, THUMB)))


def hex_rgb(name: str) -> tuple[int, int, int]:
    return tuple(int(name[i:i + 2], 16) for i in (1, 3, 5))


@pytest.mark.slow
def test_grid_shows_placeholders_at_once_and_the_thumbnails_arrive_by_signal(qtbot, hits, tmp_path):
    gone = Hit(GenerationRecord(kind="image", prompt="deleted since the search", image_path=str(tmp_path / "x.png")),
               0.0)
    view = ResultsView()
    qtbot.addWidget(view)
    view.set_grid_mode(True)
    view.show_hits([*hits, gone])
    items = [view.grid.item(i) for i in range(view.grid.count())]
    assert len(items) == 101
    # show_hits decoded nothing: every icon is the placeholder until the loader delivers.
    assert {icon_rgb(item) for item in items} == {hex_rgb(PLACEHOLDER_COLOR)}

    def arrived() -> bool:
        return all(icon_rgb(item) != hex_rgb(PLACEHOLDER_COLOR) for item in items)

    qtbot.waitUntil(arrived, timeout=TIMEOUT)
    assert all(close_to(icon_rgb(item), RED) for item in items[:50])  # scaled from the full PNG
    assert all(close_to(icon_rgb(item), GREEN) for item in items[50:100])  # the thumbnail file wins
    assert icon_rgb(items[100]) == hex_rgb(MISSING_COLOR) and items[100].text() == "missing"
    size = items[0].icon().availableSizes()[0]
    assert size.width() <= THUMB and size.height() <= THUMB  # scaled on the worker, not at paint time

    view.show_hits(hits)  # the same results again (a refreshed search): no placeholders this time
    assert all(close_to(icon_rgb(view.grid.item(i)), RED) for i in range(50))


@pytest.mark.slow
def test_list_mode_shows_a_small_thumbnail_for_image_hits(qtbot, hits):
    text = Hit(GenerationRecord(kind="text", prompt="a poem", output_text="roses"), 0.0, snippet="a poem")
    view = ResultsView()
    qtbot.addWidget(view)
    view.show_hits([text, *hits[:3]])
    widgets = [view.list.itemWidget(view.list.item(i)) for i in range(view.list.count())]
    assert widgets[0].findChild(QLabel, "listThumbnail") is None
    thumbs = [w.findChild(QLabel, "listThumbnail") for w in widgets[1:]]
    assert all(center_rgb(t.pixmap()) == hex_rgb(PLACEHOLDER_COLOR) for t in thumbs)
    qtbot.waitUntil(lambda: all(close_to(center_rgb(t.pixmap()), RED) for t in thumbs), timeout=TIMEOUT)
    assert max(thumbs[0].pixmap().width(), thumbs[0].pixmap().height()) == LIST_THUMB


def test_details_preview_loads_off_the_gui_thread_and_ignores_a_stale_one(qtbot, tmp_path):
    red = image_hit(tmp_path, "red", RED)
    blue = image_hit(tmp_path, "blue", BLUE)
    panel = DetailsPanel()
    qtbot.addWidget(panel)
    delivered = []
    panel.previews.ready.connect(lambda key, image: delivered.append(key))
    panel.show_hit(red)
    assert panel.image.pixmap().isNull() and "Loading" in panel.image.text()
    panel.show_hit(blue)  # selected before the red preview arrived
    qtbot.waitUntil(lambda: not panel.image.pixmap().isNull(), timeout=TIMEOUT)
    assert close_to(center_rgb(panel.image.pixmap()), BLUE)
    assert panel.image.pixmap().height() <= 256
    # Every pool worker must be free before all of these run together: then the red
    # load has either delivered (posted to this thread) or been skipped as stale.
    barrier = threading.Barrier(thumbnails.WORKERS)
    for f in [thumbnails._shared_pool().submit(barrier.wait, TIMEOUT / 1000) for _ in range(thumbnails.WORKERS)]:
        f.result()
    QCoreApplication.sendPostedEvents()
    QCoreApplication.processEvents()
    assert 1 <= len(delivered) <= 2
    assert close_to(center_rgb(panel.image.pixmap()), BLUE)


def test_details_says_missing_when_the_file_cannot_be_read(qtbot, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    panel = DetailsPanel()
    qtbot.addWidget(panel)
    panel.show_hit(Hit(GenerationRecord(kind="image", prompt="p", image_path=str(broken)), 0.0))
    qtbot.waitUntil(lambda: "missing or unreadable" in panel.image.text(), timeout=TIMEOUT)



def test_day_headers_are_enabled_but_not_selectable_and_grey_text_is_readable(qtbot):
    day = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
    records = [GenerationRecord(kind="text", prompt=p, output_text="a reply", session_id="s", created_at=day)
               for p in ("first", "second")]
    view = ResultsView()
    qtbot.addWidget(view)
    view.show_hits([Hit(r, 0.0, snippet=r.prompt) for r in records], grouped_by_day=True)
    header = view.list.item(0)
    assert header.data(HIT_ROLE) is None and header.font().bold()
    assert header.flags() == Qt.ItemFlag.ItemIsEnabled  # the normal text colour, never the disabled one

    grey = secondary_text_color(view.list.palette())
    row = view.list.itemWidget(view.list.item(2))  # under the day header and the session row
    assert f"color:{grey}'>→ a reply" in row.text() and "#888" not in row.text()  # the reply preview
    view.list.selectAll()
    assert not header.isSelected() and len(view.selected_hits()) == 2
    assert "→ a reply" in row.text() and "color:" not in row.text()  # no grey on the highlight
    view.list.clearSelection()
    assert f"color:{grey}" in row.text()
    for palette in (QApplication.style().standardPalette(), palette_for(DARK)):
        for role in (QPalette.ColorRole.Base, QPalette.ColorRole.Window):
            color = QColor(secondary_text_color(palette, role))
            assert contrast_ratio(color, palette.color(role)) >= 4.5
