"""Keeping embeddings complete: background load, backfill, switching embedders.

:class:`EmbeddingUpkeep` is mixed into :class:`~desktop.core.history.store.HistoryStore`.
Records saved while the embedder is not ready get ``embedded = false``; the
backfill embeds them a chunk at a time (so it resumes after a restart) and
commits each chunk through the store's single writer.
"""

from __future__ import annotations

import logging
import threading

from desktop.core.history import migrations
from desktop.core.history.embedder import Embedder
from desktop.core.history.schema import VECTOR_DIM, embed_text_of
from desktop.core.jobs import CancelToken, JobCancelled, Progress, ProgressCallback, no_progress
from desktop.core.records import GenerationRecord

log = logging.getLogger(__name__)

BACKFILL_CHUNK = 64


class EmbeddingUpkeep:
    """Embedding-related behaviour of the history store (needs ``table``, ``_writer``, ``embedder``)."""

    def _vectors_for(self, records: list[GenerationRecord]):
        if self.embedder is None or not self.embedder.ready:
            return None
        try:
            return self.embedder.encode([embed_text_of(r) for r in records])
        except Exception:  # embedding is optional at save time; backfill retries
            log.exception("history: embedding at save time failed")
            return None

    def _switch_embedder(self, name: str) -> None:
        """Another embedder was chosen: every vector is stale and is re-made by the backfill."""
        if self.table.count_rows() > 0:
            self.table.update(values={"embedded": False, "embed_model": ""})
        self.meta = dict(self.meta, embed_model=name)
        migrations.write_meta(self.root, self.meta)
        self._unembedded = self.table.count_rows()

    def start_background_embedding(self) -> None:
        """Load the embedder off-thread, then backfill records saved without vectors."""
        if self.embedder is None or self._backfill_thread is not None:
            return
        self.embedder.start_loading()

        def work() -> None:
            if self.embedder.wait_ready():
                try:
                    self.backfill(cancel=self._backfill_cancel)
                except JobCancelled:
                    pass  # switched embedder or closing: a new backfill takes over
                except Exception:
                    log.exception("history: backfill stopped")

        self._backfill_thread = threading.Thread(target=work, name="genlab-history-backfill", daemon=True)
        self._backfill_thread.start()

    def switch_embedder(self, name: str) -> None:
        """Use another embedder (chosen in settings): every record is re-embedded in the background."""
        if self.embedder is not None and self.embedder.name == name:
            return
        self._backfill_cancel.cancel()
        if self._backfill_thread is not None:
            self._backfill_thread.join(30)
        self.embedder = Embedder(name)
        self._writer.run(lambda: self._switch_embedder(name))
        self._backfill_thread, self._backfill_cancel = None, CancelToken()
        self.start_background_embedding()

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

        if self.embedder is None:
            return 0
        self.embedder.load()
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
            vectors = self.embedder.encode([embed_text_of(r) for r in records])
            update = pa.table({
                "id": pa.array([r.id for r in records], pa.string()),
                "embedded": pa.array([True] * len(records)),
                "embed_model": pa.array([self.embedder.name] * len(records), pa.string()),
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel(), pa.float32()), VECTOR_DIM),
            })

            def commit(update=update, n=len(records)) -> None:
                self.table.merge_insert("id").when_matched_update_all().execute(update)
                self._unembedded = max(0, self._unembedded - n)

            self._writer.run(commit)
            done += len(records)
            total = max(total, done)  # records saved unembedded meanwhile are embedded too
            progress(Progress(done / total, f"Embedding history: {done} of {total} records", done, total))
        return done
