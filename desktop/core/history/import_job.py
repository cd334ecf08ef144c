"""Importing a history file as one job: read and save the records, then embed them.

:func:`import_and_embed` is what the History workspace runs on a worker and
what ``genlab history import`` runs in the terminal.  Its progress reports
come in two phases: "Read N of M records, imported K" while the file is
read (see :func:`~desktop.core.history.imports.import_history`), then
"Embedding N of M records" while the records saved without a vector (the
embedder was still loading) are embedded.  Both carry ``current`` and
``total``.  An embedder that cannot load leaves the records unembedded
(keyword search finds them; the backfill embeds them once it loads) and says
so in ``ImportResult.embed_note``.
"""

from __future__ import annotations

from pathlib import Path

from desktop.core.history.imports import import_history
from desktop.core.history.readers import ImportResult
from desktop.core.jobs import CancelToken, Progress, ProgressCallback, no_progress

POLL_S = 0.25  # how often a wait checks the cancel token and reports


def import_and_embed(store, path: Path, *, cancel: CancelToken | None = None,
                     progress: ProgressCallback = no_progress, embed_timeout: float = 300.0) -> ImportResult:
    """Import ``path`` into ``store`` and embed what it added; returns the counts."""
    cancel = cancel or CancelToken()
    if store.embedder is not None:
        store.embedder.start_loading()  # loads while the file is read
    result = import_history(store, path, cancel=cancel, progress=progress)
    if store.embedder is not None and store.unembedded:
        result.embedded, result.embed_note = _embed_pending(store, cancel, progress, embed_timeout)
    return result


def _embed_pending(store, cancel: CancelToken, progress: ProgressCallback, timeout: float) -> tuple[int, str]:
    embedder = store.embedder
    waited = 0.0
    while not embedder.wait_ready(POLL_S):
        cancel.raise_if_cancelled()
        if embedder.error is not None:
            return 0, f"Not embedded yet: {embedder.error} Keyword search finds the records meanwhile."
        waited += POLL_S
        if waited >= timeout:
            return 0, "Not embedded yet: the embedding model is still loading; they are embedded in the background."
        progress(Progress(None, "Loading the embedding model…"))
    total = store.unembedded
    # The store's own background backfill may be running (the app just started): follow it, do not race it.
    while store.embedding.running():
        cancel.raise_if_cancelled()
        done = max(0, total - store.unembedded)
        progress(Progress(done / total if total else None, f"Embedding {done} of {total} records", done, total))
        cancel.wait(POLL_S)
    done_before = max(0, total - store.unembedded)

    def embedding(report: Progress) -> None:
        done = done_before + (report.current or 0)
        of = max(total, done)
        progress(Progress(done / of if of else 1.0, f"Embedding {done} of {of} records", done, of))

    embedding(Progress(current=0))
    done = done_before + store.backfill(cancel=cancel, progress=embedding)
    return done, ""
