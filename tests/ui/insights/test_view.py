"""The Insights workspace on a seeded 5,000-record history: plots follow the filters, exports read back."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, datetime, timezone

import pytest
from PySide6.QtGui import QImage

from desktop.core.insights.query import local_utc_offset
from desktop.ui.insights.plots import day_seconds
from desktop.ui.insights.view import InsightsWorkspace
from tests.support.insights import save_batched, seeded_records

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow

TIMEOUT = 30000
N = 5000


@pytest.fixture
def records(services, store):
    seeded = seeded_records(N, minutes_apart=7)  # about 24 days
    save_batched(store, seeded)
    services.provide_history_store(store)
    return seeded


@pytest.fixture
def shown(qtbot, services, runner, records):
    w = InsightsWorkspace(services, runner)
    qtbot.addWidget(w)
    w.resize(1200, 900)
    with qtbot.waitSignal(w.insights_shown, timeout=TIMEOUT):
        w.show()
    return w


def _local_day(record) -> date:
    return (record.created_at + local_utc_offset()).date()


def _per_day(records, kind) -> dict[float, int]:
    counts = Counter(_local_day(r) for r in records if r.kind == kind)
    return {day_seconds(d): c for d, c in sorted(counts.items())}


def test_the_first_view_plots_every_generation_by_kind_and_model(shown, records):
    kinds = shown.cards["per_day_kind"].drawn
    assert set(kinds) == {"text", "image"}
    for kind in ("text", "image"):
        xs, ys = kinds[kind]
        assert dict(zip(xs, ys, strict=True)) == _per_day(records, kind)
    assert sum(sum(ys) for _, ys in shown.cards["per_day_model"].drawn.values()) == N
    assert {"alpha", "beta", "gamma", "sd-tiny", "sd-turbo", "alpha.gguf"} <= set(shown.cards["per_day_model"].drawn)
    assert set(shown.cards["tokens_per_s"].drawn) >= {"alpha", "beta", "gamma"}
    assert set(shown.cards["image_speed"].drawn) == {"512x512", "768x512"}
    assert shown.notice.text() == "5,000 generations in these filters."


def test_filters_change_the_plotted_data(qtbot, shown, records):
    with qtbot.waitSignal(shown.insights_shown, timeout=TIMEOUT) as done:
        shown.set_filters(kinds=("image",))
    assert done.args[0].records == sum(1 for r in records if r.kind == "image")
    assert set(shown.cards["per_day_kind"].drawn) == {"image"}
    assert shown.cards["tokens_per_s"].drawn == {} and shown.cards["tokens_per_s"].empty.isVisibleTo(shown)
    assert set(shown.cards["per_day_model"].drawn) == {"sd-tiny", "sd-turbo"}

    first, last = date(2026, 3, 5), date(2026, 3, 7)
    with qtbot.waitSignal(shown.insights_shown, timeout=TIMEOUT):
        shown.set_filters(kinds=("text", "image"), date_from=first, date_to=last)
    kept = [r for r in records if first <= _local_day(r) <= last]
    xs, ys = shown.cards["per_day_kind"].drawn["text"]
    assert xs == [day_seconds(date(2026, 3, d)) for d in (5, 6, 7)]
    assert dict(zip(xs, ys, strict=True)) == _per_day(kept, "text")
    rated = Counter(r.rating for r in kept if r.rating)
    drawn = shown.cards["ratings"].drawn
    assert {stars: sum(drawn[f"{stars} star{'s' if stars > 1 else ''}"][1]) for stars in range(1, 6)} == dict(rated)


def test_a_range_that_ends_before_it_starts_is_refused_in_the_notice(qtbot, shown):
    with qtbot.waitSignal(shown.load_failed, timeout=TIMEOUT) as failed:
        shown.set_filters(date_from=date(2026, 3, 9), date_to=date(2026, 3, 2))
    assert "starts after it ends" in failed.args[0]
    assert shown.notice.text() == failed.args[0]


def test_each_plot_exports_a_png_and_its_data_as_csv(qtbot, shown, tmp_path):
    card = shown.cards["per_day_kind"]
    shown.choose_path = lambda suggested, _filter: str(tmp_path / suggested)
    with qtbot.waitSignal(shown.exported, timeout=TIMEOUT) as saved:
        card.png_button.click()
    image = QImage(saved.args[0])
    assert saved.args[0].endswith("insights_per_day_kind.png")
    assert not image.isNull() and image.width() > 100 and image.height() > 100
    with qtbot.waitSignal(shown.exported, timeout=TIMEOUT) as saved:
        card.csv_button.click()
    with open(saved.args[0], newline="") as f:
        rows = list(csv.DictReader(f))
    assert sum(int(r["generations"]) for r in rows) == N
    text = {r["day"]: int(r["generations"]) for r in rows if r["kind"] == "text"}
    xs, ys = card.drawn["text"]
    as_days = [datetime.fromtimestamp(x, timezone.utc).date().isoformat() for x in xs]
    assert text == dict(zip(as_days, ys, strict=True))
    for key in ("image_speed", "ratings", "disk"):
        with qtbot.waitSignal(shown.exported, timeout=TIMEOUT):
            shown.cards[key].png_button.click()
        assert not QImage(str(tmp_path / f"insights_{key}.png")).isNull()


def test_an_export_to_an_unwritable_folder_says_so(qtbot, shown, read_only_folder):
    shown.choose_path = lambda suggested, _filter: str(read_only_folder / suggested)
    with qtbot.waitSignal(shown.status_message, timeout=TIMEOUT) as said:
        shown.cards["disk"].csv_button.click()
    assert said.args[0].startswith("Could not write") and "Choose a folder" in said.args[0]
    with qtbot.waitSignal(shown.status_message, timeout=TIMEOUT) as said:
        shown.cards["disk"].png_button.click()
    assert said.args[0].startswith("Could not write")


def test_a_new_generation_reloads_the_plots(qtbot, shown, store):
    extra = seeded_records(1)[0]
    extra.id = "extra"
    with qtbot.waitSignal(shown.insights_shown, timeout=TIMEOUT) as done:
        store.save_and_wait(extra)
    assert done.args[0].records == N + 1
