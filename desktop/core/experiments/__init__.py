"""Experiments: sweeps over prompts, models, seeds and parameters, run unattended.

An experiment is a spec (:mod:`.spec`: fixed values and axes, parsed from
TOML or JSON), planned into cells (:mod:`.plan`: the product of the axes, or
paired axes zipped, times the repeats, grouped by model so each model loads
once), and run through the same engines as ``genlab text`` / ``genlab image``
(:mod:`.runner`).  Every cell is an ordinary history record whose
``session_id`` is the experiment id and whose ``parameters["experiment"]``
holds the cell's index, repeat and axis coordinates; the experiment itself
lives in a LanceDB table beside the history (:mod:`.store`).  :mod:`.export`
writes one row per cell to CSV or Parquet.

Nothing here imports Qt; the long work is plain functions taking a cancel
token and a progress callback.  Importing the package is cheap.
"""

from __future__ import annotations
