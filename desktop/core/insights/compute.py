"""Compute every Insights series from the history table in a few column scans.

:func:`compute_insights` is a plain job function (cancel token, progress
callback).  It reads the filtered rows' small columns once, then the text
rows' timings and the image rows' timings and parameters, and aggregates with
pyarrow ``group_by``.  Counts are exact; speeds are means over the records
that carry the timing (a record without it is left out, not counted as 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from desktop.core.insights import columns
from desktop.core.insights.disk import DiskUse, disk_usage
from desktop.core.insights.query import InsightsQuery
from desktop.core.insights.series import Series
from desktop.core.jobs import CancelToken, Progress, ProgressCallback, no_progress

STAGES = 5


@dataclass(frozen=True)
class Insights:
    """Every series the Insights view plots, for one query.

    Layouts (column: type):
        per_day_kind: day date32, kind string, generations int64
        per_day_model: day date32, model string, generations int64
        text_speed: day date32, model string, tokens_per_s float64, ttft_s float64, records int64
        image_speed: model string, size string ("WxH"), seconds_per_step float64, records int64
        ratings: model string, rating int32 (0 = unrated), records int64
        disk: part string, bytes int64
    """

    query: InsightsQuery
    records: int
    per_day_kind: Series
    per_day_model: Series
    text_speed: Series
    image_speed: Series
    ratings: Series
    disk: Series

    def all(self) -> tuple[Series, ...]:
        return (self.per_day_kind, self.per_day_model, self.text_speed, self.image_speed, self.ratings, self.disk)


def compute_insights(store: Any, query: InsightsQuery, *, library: Any = None,
                     cancel: CancelToken | None = None, progress: ProgressCallback = no_progress) -> Insights:
    """The Insights of ``store`` (a HistoryStore) for ``query``; ``library`` (a Library) adds model disk use.

    Raises InvalidFilter for a bad query, JobCancelled when ``cancel`` is set.
    """
    cancel = cancel or CancelToken()
    where = query.where()

    def stage(n: int, message: str) -> None:
        cancel.raise_if_cancelled()
        progress(Progress(fraction=n / STAGES, message=message, current=n, total=STAGES))

    stage(0, "Reading the history")
    base = store.scan(["created_at", "kind", "model_name", "model_file", "rating"], where)
    days = columns.local_days(base["created_at"], query.utc_offset)
    models = columns.model_labels(base["model_name"], base["model_file"])
    stage(1, "Counting generations")
    per_day_kind = _count(days, "kind", base["kind"], "per_day_kind", "Generations per day by kind")
    per_day_model = _count(days, "model", models, "per_day_model", "Generations per day by model")
    ratings = _ratings(models, base["rating"])
    stage(2, "Reading text timings")
    text_speed = _text_speed(store, _and(where, "kind = 'text'"), query)
    stage(3, "Reading image timings")
    image_speed = _image_speed(store, _and(where, "kind = 'image'"))
    stage(4, "Measuring disk use")
    disk = _disk_series(disk_usage(store.root, library))
    stage(5, "Done")
    return Insights(query, base.num_rows, per_day_kind, per_day_model, text_speed, image_speed, ratings, disk)


def _and(where: str | None, condition: str) -> str:
    return condition if where is None else f"({where}) AND {condition}"


def _count(days: Any, name: str, values: Any, key: str, title: str) -> Series:
    import pyarrow as pa

    table = pa.table({"day": days, name: values})
    grouped = table.group_by(["day", name]).aggregate([([], "count_all")])
    grouped = grouped.rename_columns(["day", name, "generations"])
    return Series(key, title, grouped.sort_by([("day", "ascending"), (name, "ascending")]))


def _ratings(models: Any, rating: Any) -> Series:
    import pyarrow as pa
    import pyarrow.compute as pc

    table = pa.table({"model": models, "rating": pc.fill_null(rating, 0)})
    grouped = table.group_by(["model", "rating"]).aggregate([([], "count_all")])
    grouped = grouped.rename_columns(["model", "rating", "records"])
    return Series("ratings", "Ratings per model", grouped.sort_by([("model", "ascending"), ("rating", "ascending")]))


def _text_speed(store: Any, where: str, query: InsightsQuery) -> Series:
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = store.scan(["created_at", "model_name", "model_file", "timings_json"], where)
    table = pa.table({
        "day": columns.local_days(rows["created_at"], query.utc_offset),
        "model": columns.model_labels(rows["model_name"], rows["model_file"]),
        "tokens_per_s": columns.json_number(rows["timings_json"], "tokens_per_s"),
        "ttft_s": columns.json_number(rows["timings_json"], "ttft_s"),
    })
    timed = pc.or_(pc.is_valid(table["tokens_per_s"]), pc.is_valid(table["ttft_s"]))
    grouped = table.filter(timed).group_by(["day", "model"]).aggregate(
        [("tokens_per_s", "mean"), ("ttft_s", "mean"), ([], "count_all")])
    grouped = grouped.rename_columns(["day", "model", "tokens_per_s", "ttft_s", "records"])
    return Series("text_speed", "Text speed per model over time",
                  grouped.sort_by([("day", "ascending"), ("model", "ascending")]))


def _image_speed(store: Any, where: str) -> Series:
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = store.scan(["model_name", "model_file", "timings_json", "parameters_json"], where)
    width = pc.cast(columns.json_number(rows["parameters_json"], "width"), pa.int64())
    height = pc.cast(columns.json_number(rows["parameters_json"], "height"), pa.int64())
    size = pc.binary_join_element_wise(pc.cast(width, pa.string()), pc.cast(height, pa.string()), "x")
    table = pa.table({
        "model": columns.model_labels(rows["model_name"], rows["model_file"]),
        "size": pc.fill_null(size, "unknown size"),
        "seconds_per_step": columns.json_number(rows["timings_json"], "per_step_s"),
    })
    grouped = table.filter(pc.is_valid(table["seconds_per_step"])).group_by(["model", "size"]).aggregate(
        [("seconds_per_step", "mean"), ([], "count_all")])
    grouped = grouped.rename_columns(["model", "size", "seconds_per_step", "records"])
    return Series("image_speed", "Image seconds per step per model and size",
                  grouped.sort_by([("model", "ascending"), ("size", "ascending")]))


def _disk_series(use: DiskUse) -> Series:
    import pyarrow as pa

    parts = use.parts()
    table = pa.table({"part": pa.array([p for p, _ in parts], pa.string()),
                      "bytes": pa.array([b for _, b in parts], pa.int64())})
    return Series("disk", "Disk used", table)
