"""Image thumbnails decoded off the GUI thread, scaled there, cached, delivered by signal.

A view asks a :class:`ThumbnailLoader` for a thumbnail with ``request(key,
candidates, size)``: the first of ``candidates`` (a thumbnail file, then the
full image) that decodes is scaled to fit ``size`` on a small shared thread
pool (``QImageReader`` and ``QImage`` are safe off the GUI thread; ``QPixmap``
is not, so views convert on arrival).  Decoded images are kept in an LRU
cache keyed by path, mtime and size, so a repeated search decodes nothing.
``request`` returns the image this loader last delivered for the same
candidates and size, if any, so a refreshed view does not flash placeholders;
the worker still checks the file and delivers again.

``cancel_pending()`` drops queued requests a view no longer needs (a newer
search replaced its rows): they are skipped, not decoded.

Signals:
    ready(str, object): ``key`` and its QImage, scaled; a null QImage when no
        candidate exists or decodes (the view shows "missing").
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from PySide6.QtCore import QCoreApplication, QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader

CACHE_ENTRIES = 600
WORKERS = 2

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_cache: OrderedDict[tuple[str, int, int, int], QImage] = OrderedDict()  # (path, mtime_ns, width, height)
_cache_lock = threading.Lock()


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="thumbnails")
            app = QCoreApplication.instance()
            if app is not None:  # quitting must not wait for queued decodes
                app.aboutToQuit.connect(_stop_pool)
        return _pool


def _stop_pool() -> None:
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def decode_scaled(path: str, size: QSize) -> QImage:
    """``path`` decoded and scaled down to fit ``size`` (never enlarged); null when it cannot be read."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    full = reader.size()
    if full.isValid() and (full.width() > size.width() or full.height() > size.height()):
        reader.setScaledSize(full.scaled(size, Qt.AspectRatioMode.KeepAspectRatio))  # JPEG decodes smaller
    image = reader.read()
    if image.isNull():
        return image
    if image.width() > size.width() or image.height() > size.height():
        image = image.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return image


def cached_thumbnail(path: str, size: QSize) -> QImage:
    """The thumbnail of ``path`` from the cache, or decoded now (call off the GUI thread)."""
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return QImage()
    key = (path, mtime, size.width(), size.height())
    with _cache_lock:
        image = _cache.get(key)
        if image is not None:
            _cache.move_to_end(key)
            return image
    image = decode_scaled(path, size)
    if not image.isNull():
        with _cache_lock:
            _cache[key] = image
            while len(_cache) > CACHE_ENTRIES:
                _cache.popitem(last=False)
    return image


class ThumbnailLoader(QObject):
    """Loads thumbnails for one view (see the module docstring)."""

    ready = Signal(str, object)
    _delivered = Signal(str, object, object)  # from a pool thread: key, memo key, QImage

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation = 0
        self._last: OrderedDict[tuple, QImage] = OrderedDict()  # GUI thread only
        self._delivered.connect(self._on_delivered)

    def request(self, key: str, candidates, size: QSize) -> QImage | None:
        """Queue loading ``key``; returns the image last delivered for these candidates, if any."""
        paths = tuple(str(c) for c in candidates if c)
        memo = (paths, size.width(), size.height())
        _shared_pool().submit(self._load, key, paths, QSize(size), memo, self._generation)
        previous = self._last.get(memo)
        if previous is not None:
            self._last.move_to_end(memo)
        return previous

    def cancel_pending(self) -> None:
        """Skip every request queued so far that has not started."""
        self._generation += 1

    def _load(self, key: str, paths: tuple[str, ...], size: QSize, memo: tuple, generation: int) -> None:
        if generation != self._generation:
            return  # the view moved on
        image = QImage()
        for path in paths:
            image = cached_thumbnail(path, size)
            if not image.isNull():
                break
        try:
            self._delivered.emit(key, memo, image)  # queued to the GUI thread
        except RuntimeError:
            pass  # the view was deleted while this was decoding

    def _on_delivered(self, key: str, memo: tuple, image: QImage) -> None:
        if image.isNull():
            self._last.pop(memo, None)
        else:
            self._last[memo] = image
            self._last.move_to_end(memo)
            while len(self._last) > CACHE_ENTRIES:
                self._last.popitem(last=False)
        self.ready.emit(key, image)
