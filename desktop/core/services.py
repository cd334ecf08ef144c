"""The app's long-lived core objects, created lazily and shared.

The GUI and the CLI build one :class:`Services`; workspaces ask it for the
shared engines and stores instead of making their own, so there is one
engine slot for the GPU, one history writer and one model library per
process.  Each object is a typed property, made on first use; the heavy
modules behind them load only then.

Services is the composition root: it is the one place that wires the
domains together (the engines get its :class:`Library` and its history).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from desktop.core.records import HistorySink, ListSink, NullSink
from desktop.core.settings import Settings, load_settings, save_settings

if TYPE_CHECKING:
    from desktop.core.history.store import HistoryStore
    from desktop.core.hub.queue import DownloadList
    from desktop.core.image.engine import ImageEngine
    from desktop.core.knowledge.store import Knowledge
    from desktop.core.models.library import Library
    from desktop.core.text.engine import TextEngine

T = TypeVar("T")
log = logging.getLogger(__name__)


class Services:
    def __init__(self, settings: Settings | None = None, settings_warning: str | None = None) -> None:
        if settings is None:
            settings, settings_warning = load_settings()
        self.settings = settings
        self.settings_warning = settings_warning
        self._lock = threading.RLock()
        self._history: HistorySink | None = None
        self._library: Library | None = None
        self._text_engine: TextEngine | None = None
        self._image_engine: ImageEngine | None = None
        self._history_store: HistoryStore | None = None
        self._downloads: DownloadList | None = None
        self._knowledge: Knowledge | None = None
        self._ui: dict[type, Any] = {}
        self._closers: list[Callable[[], None]] = []
        self._history_listeners: list[Callable[[HistorySink], None]] = []

    # --- the shared objects ----------------------------------------------------
    @property
    def library(self) -> Library:
        """The model library every engine records its models in."""
        with self._lock:
            if self._library is None:
                from desktop.core.models.library import Library

                self._library = Library()
            return self._library

    @property
    def text_engine(self) -> TextEngine:
        """The process's one text engine, saving to whatever history the services hold now."""
        with self._lock:
            if self._text_engine is None:
                from desktop.core.text.remote_slot import EngineSlot  # a TextEngine that takes remote models too

                self._text_engine = self._closing(EngineSlot(history=lambda: self.history, library=self.library))
            return self._text_engine

    @property
    def image_engine(self) -> ImageEngine:
        """The process's one image engine (it owns the GPU memory of the loaded pipeline)."""
        with self._lock:
            if self._image_engine is None:
                from desktop.core.image.engine import ImageEngine

                self._image_engine = self._closing(ImageEngine(self.settings.image, library=self.library))
            return self._image_engine

    @property
    def history_store(self) -> HistoryStore:
        """The process's one history store, opened on first use (call off the GUI thread).

        The app's startup does ``services.set_history(services.history_store)``;
        the History workspace asks for the same object, so there is one writer.
        Incognito only changes :attr:`history` (a null sink); browsing works.
        """
        with self._lock:
            if self._history_store is None:
                from desktop.core.history.store import open_history

                self._history_store = self._closing(open_history(embedder_name=self.settings.history.embedder))
            return self._history_store

    @property
    def opened_history_store(self) -> HistoryStore | None:
        """The history store if it is open already, else None (never opens it)."""
        return self._history_store

    def provide_history_store(self, store: HistoryStore) -> HistoryStore:
        """Use ``store`` as the history store (a test's, a tool's); returns it.

        Refused once another store is open: two writers of one table is what
        this class exists to prevent.
        """
        with self._lock:
            if self._history_store is not None and self._history_store is not store:
                raise RuntimeError("a history store is open already")
            if self._history_store is None:
                self._history_store = self._closing(store)
            return store

    @property
    def knowledge(self) -> Knowledge:
        """The document collections, searching with the history's embedder and store (call off the GUI
        thread: it opens the history store first if it is not open yet)."""
        with self._lock:
            if self._knowledge is None:
                from desktop.core.knowledge.store import Knowledge

                store = self.history_store
                self._knowledge = self._closing(Knowledge(embedder=store.embedder, history=store))
            return self._knowledge

    @property
    def opened_knowledge(self) -> Knowledge | None:
        """The document collections if they are open already, else None (never opens them)."""
        return self._knowledge

    @property
    def downloads(self) -> DownloadList:
        """The download list (``downloads.json``) the GUI's downloads work through."""
        with self._lock:
            if self._downloads is None:
                from desktop.core.hub.queue import DownloadList

                self._downloads = DownloadList()
            return self._downloads

    def ui_singleton(self, cls: type[T], factory: Callable[[], T]) -> T:
        """The ui layer's one ``cls`` in this process (the downloads controller), made by
        ``factory`` on first use; the core cannot name ui classes, so they are keyed by class."""
        with self._lock:
            if cls not in self._ui:
                self._ui[cls] = self._closing(factory())
            return self._ui[cls]

    def existing_ui(self, cls: type[T]) -> T | None:
        """The ui layer's ``cls`` if :meth:`ui_singleton` made one, else None."""
        with self._lock:
            return self._ui.get(cls)

    def _closing(self, obj: T) -> T:
        close = getattr(obj, "close", None)
        if callable(close) and close not in self._closers:
            self._closers.append(close)
        return obj

    def model_in_use(self, path) -> bool:
        """Whether an engine has the model at ``path`` loaded (guards deleting it)."""
        target = Path(path).resolve()
        text = self._text_engine
        if text is not None and text.is_loaded(target):
            return True
        image = self._image_engine
        loaded = image.loaded if image is not None else None
        return loaded is not None and Path(loaded.info.path).resolve() == target

    # --- history and settings ---------------------------------------------------
    @property
    def history(self) -> HistorySink:
        """Where finished generations go; a null sink in incognito mode."""
        if self.settings.history.incognito:
            return NullSink()
        if self._history is None:
            self._history = ListSink()
        return self._history

    def set_history(self, sink: HistorySink) -> None:
        self._history = sink
        self._closing(sink)
        for listener in list(self._history_listeners):
            listener(sink)

    def add_history_listener(self, listener: Callable[[HistorySink], None]) -> Callable[[], None]:
        """Call ``listener(sink)`` whenever ``set_history`` installs a history (the app opens its
        store after the first paint); returns the function that removes the listener."""
        self._history_listeners.append(listener)

        def remove() -> None:
            if listener in self._history_listeners:
                self._history_listeners.remove(listener)

        return remove

    def save_settings(self) -> None:
        save_settings(self.settings)

    def close(self) -> None:
        for close in reversed(self._closers):
            try:
                close()
            except Exception:  # closing must not stop closing the rest
                log.exception("error while closing %r", close)
        self._closers.clear()
