"""Training datasets from what you rated: supervised fine-tuning and preference sets (JSONL).

* :mod:`.sft`: rated text generations of the history as chat ``messages``
  rows (the system prompt and the earlier turns of the thread included),
  chosen by the history's search filters and, optionally, a search.
* :mod:`.preference`: the arena's decisive votes as ``prompt`` / ``chosen`` /
  ``rejected`` rows, the format TRL's DPO trainer reads; ties and "both bad"
  are left out.
* :mod:`.dedupe`: exact duplicates (the same text after NFKC, case folding
  and whitespace normalisation) and, on request, near duplicates (cosine of
  the stored record vectors at or above a threshold) are dropped and counted.
* :mod:`.jsonl`: rows are written one at a time to a temporary file beside
  the target, renamed into place only when at least one row was written.

Every row keeps ``origin`` (generated, imported, api), so synthetic and real
data are never mixed unmarked.  Records are read with column-selected Lance
scans in batches, never the whole history at once.  Nothing here imports Qt.
"""

from __future__ import annotations
