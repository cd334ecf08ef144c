"""Insights from a seeded history, checked against counts and means computed here record by record."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import date, timedelta
from statistics import mean

import pytest

from desktop.core.history.errors import InvalidFilter
from desktop.core.insights import InsightsQuery, compute_insights
from desktop.core.insights.columns import UNKNOWN_MODEL
from desktop.core.jobs import CancelToken, JobCancelled
from desktop.core.models.library import Library
from tests.support.insights import save_batched, seeded_records

N = 600
UTC = timedelta(0)


@pytest.fixture
def seeded(store):
    records = seeded_records(N)
    save_batched(store, records, batch=250)
    return store, records


def _label(record) -> str:
    return record.model.name or record.model.file or UNKNOWN_MODEL


def _day(record, offset=UTC) -> date:
    return (record.created_at + offset).date()


def _rows(series, *names):
    return [tuple(row[n] for n in names) for row in series.table.to_pylist()]


def test_generations_per_day_by_kind_and_by_model_are_exact(seeded):
    store, records = seeded
    insights = compute_insights(store, InsightsQuery(utc_offset=UTC))
    assert insights.records == N
    by_kind = Counter((_day(r), r.kind) for r in records)
    by_model = Counter((_day(r), _label(r)) for r in records)
    assert _rows(insights.per_day_kind, "day", "kind", "generations") == sorted(
        (d, k, c) for (d, k), c in by_kind.items())
    assert _rows(insights.per_day_model, "day", "model", "generations") == sorted(
        (d, m, c) for (d, m), c in by_model.items())
    assert "alpha.gguf" in {m for _, m, _ in _rows(insights.per_day_model, "day", "model", "generations")}


def test_text_speed_is_the_daily_mean_of_the_records_that_have_timings(seeded):
    store, records = seeded
    insights = compute_insights(store, InsightsQuery(utc_offset=UTC))
    groups = defaultdict(list)
    for r in records:
        if r.kind == "text" and r.timings:
            groups[(_day(r), _label(r))].append(r.timings)
    expected = sorted((d, m, mean(t["tokens_per_s"] for t in ts), mean(t["ttft_s"] for t in ts), len(ts))
                      for (d, m), ts in groups.items())
    got = _rows(insights.text_speed, "day", "model", "tokens_per_s", "ttft_s", "records")
    assert [(d, m, n) for d, m, _, _, n in got] == [(d, m, n) for d, m, _, _, n in expected]
    for (_, _, tps, ttft, _), (_, _, want_tps, want_ttft, _) in zip(got, expected, strict=True):
        assert tps == pytest.approx(want_tps) and ttft == pytest.approx(want_ttft)


def test_image_seconds_per_step_per_model_and_size(seeded):
    store, records = seeded
    insights = compute_insights(store, InsightsQuery(utc_offset=UTC))
    groups = defaultdict(list)
    for r in records:
        if r.kind == "image" and r.timings:
            groups[(_label(r), f"{r.parameters['width']}x{r.parameters['height']}")].append(r.timings["per_step_s"])
    got = _rows(insights.image_speed, "model", "size", "seconds_per_step", "records")
    assert len(groups) == 4  # two models at two sizes
    assert [(m, s, n) for m, s, _, n in got] == sorted((m, s, len(v)) for (m, s), v in groups.items())
    for model, size, seconds, _ in got:
        assert seconds == pytest.approx(mean(groups[(model, size)]))


def test_rating_distribution_per_model_counts_unrated_as_zero(seeded):
    store, records = seeded
    insights = compute_insights(store, InsightsQuery(utc_offset=UTC))
    expected = Counter((_label(r), r.rating) for r in records)
    assert _rows(insights.ratings, "model", "rating", "records") == sorted(
        (m, rating, c) for (m, rating), c in expected.items())


def test_kind_and_date_filters_restrict_every_series(seeded):
    store, records = seeded
    first, last = date(2026, 3, 3), date(2026, 3, 6)
    query = InsightsQuery(date_from=first, date_to=last, kinds=("image",), utc_offset=UTC)
    insights = compute_insights(store, query)
    kept = [r for r in records if r.kind == "image" and first <= _day(r) <= last]
    assert insights.records == len(kept) > 0
    assert {k for _, k, _ in _rows(insights.per_day_kind, "day", "kind", "generations")} == {"image"}
    assert sum(insights.per_day_kind.column("generations")) == len(kept)
    assert min(insights.per_day_model.column("day")) == first and max(insights.per_day_model.column("day")) == last
    assert insights.text_speed.rows == 0
    assert sum(insights.image_speed.column("records")) == sum(1 for r in kept if r.timings)
    assert sum(insights.ratings.column("records")) == len(kept)


def test_days_are_cut_at_local_midnight_of_the_offset_given(seeded):
    store, records = seeded
    offset = timedelta(hours=-5)
    day = date(2026, 3, 2)
    insights = compute_insights(store, InsightsQuery(date_from=day, date_to=day, utc_offset=offset))
    kept = [r for r in records if _day(r, offset) == day]
    assert insights.records == len(kept)
    assert set(insights.per_day_kind.column("day")) == {day}
    assert sum(insights.per_day_kind.column("generations")) == len(kept)


def test_an_empty_history_gives_empty_series_not_errors(store):
    insights = compute_insights(store, InsightsQuery())
    assert insights.records == 0
    assert all(s.rows == 0 for s in insights.all() if s.key != "disk")


def test_disk_use_counts_the_database_images_and_library_models(seeded, genlab_home, stories260k):
    store, _ = seeded
    image = genlab_home / "outputs" / "2026-03-01" / "a.png"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"x" * 1234)
    library = Library()
    library.add_path(stories260k, source="linked", owned=False)
    disk = dict(_rows(compute_insights(store, InsightsQuery(), library=library).disk, "part", "bytes"))
    assert disk["Images"] == 1234
    assert disk["Models (linked)"] == stories260k.stat().st_size and disk["Models (in GenLab's folder)"] == 0
    assert disk["History database"] == sum(f.stat().st_size for f in (store.root / "lancedb").rglob("*")
                                           if f.is_file())


def test_every_series_writes_a_csv_that_reads_back(seeded, tmp_path):
    store, _ = seeded
    insights = compute_insights(store, InsightsQuery(utc_offset=UTC))
    for series in insights.all():
        path = series.write_csv(tmp_path / f"{series.key}.csv")
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == series.rows
        assert list(rows[0]) == series.table.column_names
    with (tmp_path / "per_day_kind.csv").open(newline="") as f:
        first = next(csv.DictReader(f))
    assert first["day"] == "2026-03-01" and int(first["generations"]) > 0


def test_a_csv_to_an_unwritable_place_says_so(seeded, read_only_folder):
    store, _ = seeded
    series = compute_insights(store, InsightsQuery()).per_day_kind
    with pytest.raises(Exception, match="Could not write .*Choose a folder"):
        series.write_csv(read_only_folder / "x.csv")


def test_bad_queries_are_refused_with_a_message(store):
    with pytest.raises(InvalidFilter, match="starts after it ends"):
        compute_insights(store, InsightsQuery(date_from=date(2026, 3, 5), date_to=date(2026, 3, 1)))
    with pytest.raises(InvalidFilter, match="not \\['video'\\].*Pick Text, Images or both"):
        compute_insights(store, InsightsQuery(kinds=("video",)))
    with pytest.raises(InvalidFilter, match="not nothing"):
        compute_insights(store, InsightsQuery(kinds=()))


def test_a_cancelled_computation_stops(seeded):
    store, _ = seeded
    token = CancelToken()
    token.cancel()
    with pytest.raises(JobCancelled):
        compute_insights(store, InsightsQuery(), cancel=token)
