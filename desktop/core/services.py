"""The app's long-lived core objects, created lazily and shared.

The GUI and the CLI build one :class:`Services`; workspaces ask it for the
shared engines and stores instead of making their own, so there is one
engine slot for the GPU and one history writer per process.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, TypeVar

from desktop.core.records import HistorySink, ListSink, NullSink
from desktop.core.settings import Settings, load_settings, save_settings

T = TypeVar("T")


class Services:
    def __init__(self, settings: Settings | None = None, settings_warning: str | None = None) -> None:
        if settings is None:
            settings, settings_warning = load_settings()
        self.settings = settings
        self.settings_warning = settings_warning
        self._singletons: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._history: HistorySink | None = None
        self._closers: list[Callable[[], None]] = []

    def shared(self, key: str, factory: Callable[[], T]) -> T:
        """The one instance of ``key`` in this process, made by ``factory`` on first use."""
        with self._lock:
            if key not in self._singletons:
                obj = factory()
                self._singletons[key] = obj
                close = getattr(obj, "close", None)
                if callable(close):
                    self._closers.append(close)
            return self._singletons[key]

    def existing(self, key: str) -> Any:
        """The instance of ``key`` if one was made already, else None (never creates)."""
        with self._lock:
            return self._singletons.get(key)

    def model_in_use(self, path) -> bool:
        """Whether an engine has the model at ``path`` loaded (guards deleting it)."""
        from pathlib import Path

        target = Path(path).resolve()
        text = self.existing("text_engine")
        if text is not None and text.is_loaded(target):
            return True
        image = self.existing("image_engine")
        loaded = getattr(image, "loaded", None)
        return loaded is not None and Path(loaded.info.path).resolve() == target

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
        close = getattr(sink, "close", None)
        if callable(close) and close not in self._closers:
            self._closers.append(close)

    def save_settings(self) -> None:
        save_settings(self.settings)

    def close(self) -> None:
        for close in reversed(self._closers):
            try:
                close()
            except Exception:  # closing must not stop closing the rest
                import logging

                logging.getLogger(__name__).exception("error while closing %r", close)
        self._closers.clear()
