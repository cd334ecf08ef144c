"""The history's embeddings in RAM, searched by an IVF index once the table is large.

LanceDB's own vector search costs a query plan, an index read and a re-rank
every time (6–8 ms at 100k rows here, and its HNSW index took 65 s to build
on the writer thread).  The vectors are small (384 floats a record), so the
store keeps a copy in RAM, synchronised with the table snapshot a search uses:

* per Lance fragment: the row offsets and vectors of its embedded rows.  A
  new fragment (an append, a compaction, an update) is read once; a fragment
  whose deletion file changed only drops the deleted rows; a fragment that
  vanished is forgotten.  Row ids are ``fragment_id << 32 | offset``, exactly
  LanceDB's ``_rowid`` for that snapshot, so results can be fetched and fused
  with the keyword leg without a lookup.
* below ``ivf_min_rows`` rows a query is one exact matrix-vector product.
  From there on, spherical k-means (on a sample, in a background thread)
  puts the vectors into partitions of about 1,000 rows; a query compares itself
  with the centroids and scores only the rows of the nearest ``nprobe``
  partitions (30 % of them), exactly.  Real MiniLM embeddings are far less
  clustered than synthetic ones: on ~6,000 real prompt sentences recall@10
  was 0.79 probing 8 % of the lists, 0.91 at 20 %, 0.97 at 30 %
  (``python -m bench history`` prints it as ``real_recall_at_10``), so the
  index cuts the work about threefold rather than tenfold.  Until the
  partitions exist, and for very selective filters, the search stays exact.  Partitions are rebuilt when the table
  has doubled since they were made or the embedding model changed.

Thread-safety: :meth:`sync`, :meth:`search` and :meth:`similarities` may be
called from any thread; one lock guards the fragment table.  Clustering runs
on its own thread and swaps its result in under the lock.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

IVF_MIN_ROWS = 20_000
ROWS_PER_LIST = 1000  # partitions of about this size: few numpy calls per query, each on a long slice
KMEANS_ITERATIONS = 10
KMEANS_SAMPLE_PER_LIST = 64
PROBE_FRACTION = 0.3  # of the partitions, and at least MIN_SCANNED_ROWS rows' worth of them
MIN_SCANNED_ROWS = 15_000  # small histories: scanning more is cheap and keeps recall up
MIN_PROBES = 8
KMEANS_MIN_SAMPLE = 20_000
EXACT_FILTER_FRACTION = 0.05  # filters keeping fewer rows than this are searched exactly
ASSIGN_CHUNK = 20_000


@dataclass
class _Fragment:
    """One Lance fragment's embedded rows; with partitions, rows are sorted by partition."""

    data_key: str  # identifies the fragment's data files (same key: same rows at the same offsets)
    deletion_key: str
    offsets: Any  # uint32 row offsets in the fragment
    vectors: Any  # float32 (rows, dim), L2-normalised
    centroids_version: int = -1  # which clustering ``bounds`` refer to; -1: not partitioned
    bounds: Any = None  # int64 (nlist + 1): rows of partition p are bounds[p]:bounds[p + 1]
    _positions: Any = None  # offset -> row in ``vectors`` (-1: none), made on first use

    def positions(self, offsets):
        """Rows in ``vectors`` of the given fragment offsets (-1 where the row has no embedding)."""
        import numpy as np

        if self._positions is None:
            size = int(self.offsets.max()) + 1 if len(self.offsets) else 0
            self._positions = np.full(size, -1, dtype="int64")
            self._positions[self.offsets] = np.arange(len(self.offsets))
        offsets = np.asarray(offsets, dtype="int64")
        found = np.full(len(offsets), -1, dtype="int64")
        inside = offsets < len(self._positions)
        found[inside] = self._positions[offsets[inside]]
        return found

    def mask(self, offsets):
        """A boolean per row of ``vectors``: True for the given fragment offsets."""
        import numpy as np

        keep = np.zeros(len(self.offsets), dtype=bool)
        rows = self.positions(offsets)
        keep[rows[rows >= 0]] = True
        return keep


def _fragment_keys(fragment) -> tuple[str, str]:
    meta = fragment.metadata.to_json()
    if isinstance(meta, str):
        meta = json.loads(meta)
    data = {"files": meta.get("files"), "overlays": meta.get("overlays")}
    return json.dumps(data, sort_keys=True, default=str), json.dumps(meta.get("deletion_file"), sort_keys=True,
                                                                        default=str)


def _normalised(vectors):
    import numpy as np

    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype("float32", copy=False)


def _top(sims, rowids, k: int) -> list[tuple[int, float]]:
    import numpy as np

    if len(sims) == 0:
        return []
    k = min(k, len(sims))
    part = np.argpartition(-sims, k - 1)[:k]
    best = part[np.argsort(-sims[part], kind="stable")]
    return [(int(rowids[i]), float(sims[i])) for i in best]


class VectorIndex:
    """See the module docstring.  ``model`` names the embedder the vectors came from."""

    def __init__(self, *, ivf_min_rows: int = IVF_MIN_ROWS, min_scanned_rows: int = MIN_SCANNED_ROWS,
                 rows_per_list: int = ROWS_PER_LIST) -> None:
        self.ivf_min_rows = ivf_min_rows
        self.min_scanned_rows = min_scanned_rows
        self.rows_per_list = rows_per_list
        self._lock = threading.RLock()
        self._fragments: dict[int, _Fragment] = {}
        self._version: int | None = None
        self._model = ""
        self._centroids: Any = None  # (lists, dim) float32 once partitioned
        self._centroids_version = 0
        self._clustered_rows = 0
        self._cluster_thread: threading.Thread | None = None
        self._closed = False

    # --- state -------------------------------------------------------------------
    @property
    def rows(self) -> int:
        with self._lock:
            return sum(len(f.offsets) for f in self._fragments.values())

    @property
    def partitioned(self) -> bool:
        """True when every fragment is partitioned by the current centroids (IVF search)."""
        with self._lock:
            return self._centroids is not None and all(
                f.centroids_version == self._centroids_version for f in self._fragments.values())

    def close(self) -> None:
        self._closed = True

    # --- keeping up with the table ------------------------------------------------
    def sync(self, ds, model: str = "") -> bool:
        """Bring the copy to the snapshot ``ds`` (a LanceDataset); cheap when nothing changed.

        Returns False, changing nothing, when the copy already follows a newer
        version than ``ds`` (the caller should take a fresh snapshot).
        """
        with self._lock:
            if model != self._model:
                self._fragments, self._centroids, self._clustered_rows = {}, None, 0
                self._centroids_version += 1
                self._model, self._version = model, None
            if self._version is not None and ds.version < self._version:
                return False
            if ds.version == self._version:
                return True
            current: dict[int, _Fragment] = {}
            for fragment in ds.get_fragments():
                fid = fragment.fragment_id
                data_key, deletion_key = _fragment_keys(fragment)
                known = self._fragments.get(fid)
                if known is not None and known.data_key == data_key:
                    if known.deletion_key != deletion_key:
                        known = self._drop_deleted(fragment, known, deletion_key)
                    current[fid] = known
                else:
                    current[fid] = self._read(fragment, data_key, deletion_key)
            self._fragments, self._version = current, ds.version
            if self.rows >= self.ivf_min_rows and (self._centroids is None or self.rows >= 2 * self._clustered_rows):
                self._start_clustering()  # under the lock: whoever syncs next sees the thread
        return True

    def _read(self, fragment, data_key: str, deletion_key: str) -> _Fragment:
        import numpy as np

        table = fragment.to_table(columns=["vector"], filter="embedded = true", with_row_id=True)
        offsets = (table["_rowid"].to_numpy() & 0xFFFFFFFF).astype("uint32")
        if table.num_rows:
            chunks = [c.flatten().to_numpy(zero_copy_only=False).reshape(len(c), -1)  # flatten: honours slices
                      for c in table["vector"].chunks if len(c)]
            vectors = _normalised(np.concatenate(chunks) if len(chunks) > 1 else chunks[0])
        else:
            vectors = np.zeros((0, 0), dtype="float32")
        entry = _Fragment(data_key, deletion_key, offsets, vectors)
        if self._centroids is not None and len(offsets):
            self._partition(entry, self._centroids, self._centroids_version)
        return entry

    def _drop_deleted(self, fragment, known: _Fragment, deletion_key: str) -> _Fragment:
        """Rows were deleted from a fragment we hold: keep the rest, in the same order."""
        import numpy as np

        alive = (fragment.to_table(columns=[], with_row_id=True)["_rowid"].to_numpy() & 0xFFFFFFFF)
        keep = np.isin(known.offsets, alive.astype("uint32"))
        entry = _Fragment(known.data_key, deletion_key, known.offsets[keep], known.vectors[keep])
        if known.bounds is not None:
            # partition p keeps the rows of its old range that survive
            kept_before = np.concatenate([[0], np.cumsum(keep)])
            entry.bounds, entry.centroids_version = kept_before[known.bounds], known.centroids_version
        return entry

    # --- partitions (IVF) ----------------------------------------------------------
    @staticmethod
    def _partition(entry: _Fragment, centroids, version: int) -> None:
        import numpy as np

        n = len(entry.offsets)
        assign = np.empty(n, dtype="int64")
        for start in range(0, n, ASSIGN_CHUNK):
            assign[start:start + ASSIGN_CHUNK] = np.argmax(entry.vectors[start:start + ASSIGN_CHUNK] @ centroids.T,
                                                           axis=1)
        order = np.argsort(assign, kind="stable")
        entry.offsets, entry.vectors = entry.offsets[order], entry.vectors[order]
        entry.bounds = np.searchsorted(assign[order], np.arange(len(centroids) + 1))
        entry.centroids_version = version
        entry._positions = None

    def _start_clustering(self) -> None:
        with self._lock:
            if self._closed or (self._cluster_thread is not None and self._cluster_thread.is_alive()):
                return
            self._cluster_thread = threading.Thread(target=self._cluster, name="genlab-history-ivf", daemon=True)
            self._cluster_thread.start()

    def _cluster(self) -> None:
        try:
            self.build_partitions()
        except Exception:  # the exact search keeps working
            log.exception("history: building vector partitions failed")

    def build_partitions(self, seed: int = 0) -> None:
        """Spherical k-means on a sample, then partition every fragment (call off the GUI thread)."""
        import numpy as np

        with self._lock:
            fragments = dict(self._fragments)
            model, version = self._model, self._centroids_version + 1
        total = sum(len(f.offsets) for f in fragments.values())
        if total == 0:
            return
        nlist = max(8, round(total / self.rows_per_list))
        rng = np.random.default_rng(seed)
        sample_size = min(total, max(nlist * KMEANS_SAMPLE_PER_LIST, KMEANS_MIN_SAMPLE))
        pool = np.concatenate([f.vectors for f in fragments.values() if len(f.offsets)])
        sample = pool[rng.choice(total, sample_size, replace=False)]
        del pool
        centroids = sample[rng.choice(sample_size, nlist, replace=False)].copy()
        for _ in range(KMEANS_ITERATIONS):
            if self._closed:
                return
            assign = np.argmax(sample @ centroids.T, axis=1)
            sums = np.zeros_like(centroids)
            np.add.at(sums, assign, sample)
            empty = np.bincount(assign, minlength=nlist) == 0
            sums[empty] = sample[rng.choice(sample_size, int(empty.sum()))]  # reseed empty lists
            centroids = _normalised(sums)
        partitioned = {}
        for fid, f in fragments.items():
            entry = _Fragment(f.data_key, f.deletion_key, f.offsets, f.vectors)
            if len(entry.offsets):
                self._partition(entry, centroids, version)
            else:
                entry.centroids_version = version
            partitioned[fid] = entry
        with self._lock:
            if self._model != model or self._closed:
                return
            for fid, entry in partitioned.items():
                # swap in only what did not change meanwhile; the rest is partitioned on its next read
                live = self._fragments.get(fid)
                if live is not None and live.data_key == entry.data_key and live.deletion_key == entry.deletion_key:
                    self._fragments[fid] = entry
            self._centroids, self._centroids_version, self._clustered_rows = centroids, version, total
            for entry in self._fragments.values():
                if entry.centroids_version != version and len(entry.offsets):
                    self._partition(entry, centroids, version)
                elif not len(entry.offsets):
                    entry.centroids_version = version

    def wait_partitioned(self, timeout: float | None = None) -> bool:
        thread = self._cluster_thread
        if thread is not None:
            thread.join(timeout)
        return self.partitioned

    # --- searching ------------------------------------------------------------------
    def nprobe(self) -> int:
        """How many partitions a query scores (recall vs exact search is measured in bench/history.py)."""
        nlist = 0 if self._centroids is None else len(self._centroids)
        fraction = max(PROBE_FRACTION, self.min_scanned_rows / max(1, self._clustered_rows))
        return min(nlist, max(MIN_PROBES, math.ceil(nlist * fraction)))

    def search(self, query, k: int, allowed=None) -> list[tuple[int, float]]:
        """The ``k`` (row id, cosine similarity) pairs nearest ``query``, best first.

        ``allowed``: None, or a numpy array of the row ids a filter keeps.
        """
        import numpy as np

        q = np.asarray(query, dtype="float32")
        q = q / (np.linalg.norm(q) or 1.0)
        with self._lock:
            fragments = list(self._fragments.items())
            total = sum(len(f.offsets) for _, f in fragments)
            if total == 0 or k <= 0:
                return []
            allowed_by_fragment = None
            if allowed is not None:
                allowed = np.asarray(allowed, dtype="uint64")
                allowed_by_fragment = {fid: (allowed[(allowed >> 32) == fid] & 0xFFFFFFFF).astype("uint32")
                                       for fid, _ in fragments}
            if self.partitioned and (allowed is None or len(allowed) >= EXACT_FILTER_FRACTION * total):
                return self._search_partitions(fragments, q, k, allowed_by_fragment)
            return self._search_exact(fragments, q, k, allowed_by_fragment)

    def _search_exact(self, fragments, q, k: int, allowed_by_fragment) -> list[tuple[int, float]]:
        import numpy as np

        sims, rowids = [], []
        for fid, f in fragments:
            if not len(f.offsets):
                continue
            if allowed_by_fragment is None:
                rows = slice(None)
            else:
                rows = f.positions(allowed_by_fragment[fid])
                rows = rows[rows >= 0]
            sims.append(f.vectors[rows] @ q)
            rowids.append((np.uint64(fid) << np.uint64(32)) | f.offsets[rows].astype("uint64"))
        if not sims:
            return []
        return _top(np.concatenate(sims), np.concatenate(rowids), k)

    def _search_partitions(self, fragments, q, k: int, allowed_by_fragment) -> list[tuple[int, float]]:
        import numpy as np

        nlist = len(self._centroids)
        ranked = np.argsort(-(self._centroids @ q))
        nprobe = self.nprobe()
        masks = None if allowed_by_fragment is None else {
            fid: f.mask(allowed_by_fragment[fid]) for fid, f in fragments if len(f.offsets)}
        while True:
            sims, rowids = [], []
            probe = np.sort(ranked[:nprobe])
            # neighbouring lists are one slice: fewer, longer matrix-vector products
            breaks = np.flatnonzero(np.diff(probe) != 1) + 1
            runs = [(int(r[0]), int(r[-1]) + 1) for r in np.split(probe, breaks)]
            for fid, f in fragments:
                if not len(f.offsets):
                    continue
                for first, end in runs:
                    a, b = f.bounds[first], f.bounds[end]
                    if a == b:
                        continue
                    offsets = f.offsets[a:b]
                    part_sims = f.vectors[a:b] @ q
                    if masks is not None:
                        keep = masks[fid][a:b]
                        offsets, part_sims = offsets[keep], part_sims[keep]
                    sims.append(part_sims)
                    rowids.append((np.uint64(fid) << np.uint64(32)) | offsets.astype("uint64"))
            found = sum(len(s) for s in sims)
            if found >= k or nprobe >= nlist:  # a filter may leave too few rows in the nearest lists
                break
            nprobe = min(nlist, nprobe * 4)
        if not sims:
            return []
        return _top(np.concatenate(sims), np.concatenate(rowids), k)

    def similarities(self, query, rowids: list[int]) -> dict[int, float]:
        """Cosine similarity of ``query`` to each given row that has an embedding."""
        import numpy as np

        q = np.asarray(query, dtype="float32")
        q = q / (np.linalg.norm(q) or 1.0)
        out: dict[int, float] = {}
        with self._lock:
            by_fragment: dict[int, list[int]] = {}
            for rowid in rowids:
                by_fragment.setdefault(rowid >> 32, []).append(rowid)
            for fid, wanted in by_fragment.items():
                f = self._fragments.get(fid)
                if f is None or not len(f.offsets):
                    continue
                rows = f.positions([r & 0xFFFFFFFF for r in wanted])
                for rowid, row in zip(wanted, rows):
                    if row >= 0:
                        out[rowid] = float(f.vectors[row] @ q)
        return out
