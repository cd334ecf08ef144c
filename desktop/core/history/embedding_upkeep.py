"""Keeping embeddings complete: background load, backfill, switching embedders.

Records saved while the embedder is not ready get ``embedded = false``; the
backfill embeds them a chunk at a time (so it resumes after a restart) and
commits each chunk through the store's single writer.
"""

from __future__ import annotations

import logging
import threading
from functools import partial
from typing import Any, Callable

from desktop.core.history.embedder import Embedder
from desktop.core.history.schema import VECTOR_DIM, embed_text_of
from desktop.core.jobs import CancelToken, JobCancelled, Progress, ProgressCallback, no_progress
from desktop.core.records import GenerationRecord

log = logging.getLogger(__name__)

BACKFILL_CHUNK = 64


class EmbeddingUpkeep:
    """The embedder of a history table, and the count and backfill of its records without a vector.

    Built by :class:`~desktop.core.history.store.HistoryStore` with the
    LanceDB ``table``, ``on_writer`` (runs a function on the store's writer
    thread and returns its result), the ``embedder`` (None: keyword search
    only), how many rows are ``unembedded`` at open, and ``on_model_switched``
    (writer thread: record the new model in the history's meta file).

    Lifecycle: :meth:`start` loads the embedder on a thread and backfills;
    :meth:`running` says whether that thread is still at work; :meth:`switch`
    replaces the embedder and re-embeds everything; :meth:`close` cancels the
    backfill (what it committed stays).  The store calls :meth:`vectors_for`,
    :meth:`saved_unembedded` and :meth:`deleted_unembedded` on the writer thread.
    """

    def __init__(self, table: Any, on_writer: Callable[[Callable[[], Any]], Any], embedder: Embedder | None, *,
                 unembedded: int, on_model_switched: Callable[[str], None]) -> None:
        self.table = table
        self.embedder = embedder
        self._on_writer = on_writer
        self._on_model_switched = on_model_switched
        self._unembedded = unembedded
        self._thread: threading.Thread | None = None
        self._cancel = CancelToken()

    @property
    def unembedded(self) -> int:
        """Records saved without a vector that the backfill has not embedded yet."""
        return self._unembedded

    # --- writer thread ----------------------------------------------------------------
    def vectors_for(self, records: list[GenerationRecord]):
        """Vectors for records being saved, or None while the embedder is not ready (the backfill catches up)."""
        if self.embedder is None or not self.embedder.ready:
            return None
        try:
            return self.embedder.encode([embed_text_of(r) for r in records])
        except Exception:  # embedding is optional at save time; backfill retries
            log.exception("history: embedding at save time failed")
            return None

    def saved_unembedded(self, count: int) -> None:
        self._unembedded += count

    def deleted_unembedded(self, count: int) -> None:
        self._unembedded -= count

    def mark_stale(self, name: str) -> None:
        """Another embedder was chosen: every vector is stale and is re-made by the backfill."""
        if self.table.count_rows() > 0:
            self.table.update(values={"embedded": False, "embed_model": ""})
        self._on_model_switched(name)
        self._unembedded = self.table.count_rows()

    # --- the background thread -------------------------------------------------------------
    def start(self) -> None:
        """Load the embedder off-thread, then backfill records saved without vectors."""
        embedder = self.embedder
        if embedder is None or self._thread is not None:
            return
        embedder.start_loading()
        cancel = self._cancel

        def work() -> None:
            if embedder.wait_ready():
                try:
                    self.backfill(cancel=cancel)
                except JobCancelled:
                    pass  # switched embedder or closing: a new backfill takes over
                except Exception:
                    log.exception("history: backfill stopped")

        self._thread = threading.Thread(target=work, name="genlab-history-backfill", daemon=True)
        self._thread.start()

    def running(self) -> bool:
        """Whether the backfill started by :meth:`start` is still at work."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def switch(self, name: str) -> None:
        """Use another embedder (chosen in settings): every record is re-embedded in the background."""
        if self.embedder is not None and self.embedder.name == name:
            return
        self._cancel.cancel()
        if self._thread is not None:
            self._thread.join(30)
        self.embedder = Embedder(name)
        self._on_writer(lambda: self.mark_stale(name))
        self._thread, self._cancel = None, CancelToken()
        self.start()

    def close(self) -> None:
        self._cancel.cancel()

    # --- backfill ---------------------------------------------------------------------------
    def backfill(self, *, cancel: CancelToken, progress: ProgressCallback = no_progress,
                 max_records: int | None = None, max_seconds: float | None = None) -> int:
        """Embed records that have no vector yet, a chunk at a time; returns how many.

        ``max_records`` and ``max_seconds`` bound one call (the rest stays for
        the next one); the time bound is checked between chunks.  Every chunk
        is committed before the next starts, so a cancelled or interrupted
        backfill keeps what it did.
        """
        import time

        import pyarrow as pa

        embedder = self.embedder
        if embedder is None:
            return 0
        embedder.load()
        started = time.monotonic()
        total = self.table.count_rows("embedded = false")
        if max_records is not None:
            total = min(total, max_records)
        done = 0
        while max_records is None or done < max_records:
            cancel.raise_if_cancelled()
            if max_seconds is not None and done and time.monotonic() - started >= max_seconds:
                break
            chunk = BACKFILL_CHUNK if max_records is None else min(BACKFILL_CHUNK, max_records - done)
            rows = self.table.search().where("embedded = false") \
                .select(["id", "kind", "prompt", "negative_prompt", "output_text"]).limit(chunk).to_list()
            if not rows:
                break
            records = [GenerationRecord(kind=r["kind"], prompt=r["prompt"], id=r["id"],
                                        negative_prompt=r["negative_prompt"], output_text=r["output_text"])
                       for r in rows]
            vectors = embedder.encode([embed_text_of(r) for r in records])
            update = pa.table({
                "id": pa.array([r.id for r in records], pa.string()),
                "embedded": pa.array([True] * len(records)),
                "embed_model": pa.array([embedder.name] * len(records), pa.string()),
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel(), pa.float32()), VECTOR_DIM),
            })
            self._on_writer(partial(self._commit, update, len(records)))
            done += len(records)
            total = max(total, done)  # records saved unembedded meanwhile are embedded too
            progress(Progress(done / total, f"Embedding history: {done} of {total} records", done, total))
        return done

    def _commit(self, update: Any, count: int) -> None:
        """Writer thread: one backfill chunk's vectors into the table."""
        self.table.merge_insert("id").when_matched_update_all().execute(update)
        self._unembedded = max(0, self._unembedded - count)
