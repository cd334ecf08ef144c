"""Reads the list of collections on an ``io`` job, once the app has opened the history.

The collections search with the history's embedder and store
(:attr:`Services.knowledge`), so before the history is open (just after
start) a request waits for it instead of opening it: the app opens it after
the first paint, and the Knowledge workspace or Chat's picker must not do it
earlier on their own.

Signals:
    loaded(list): the collections (a list of ``Collection``, the history first).
    failed(str): they could not be read; the message.
    waiting(): a request waits for the history to open.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal

from desktop.core.jobs import Job


class CollectionsLoader(QObject):
    loaded = Signal(list)
    failed = Signal(str)
    waiting = Signal()
    _history_opened = Signal()  # queued: the services call their listeners on whichever thread opened it

    def __init__(self, services, runner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.runner = runner
        self._stop_waiting = None
        self._history_opened.connect(self._on_history_opened, Qt.ConnectionType.QueuedConnection)

    def load(self) -> None:
        """Read the collections now, or as soon as the history is open."""
        if self.services.opened_history_store is None:
            if self._stop_waiting is None:
                self._stop_waiting = self.services.add_history_listener(lambda _sink: self._signal())
            self.waiting.emit()
            return
        services = self.services

        def work(*, cancel, progress):
            return services.knowledge.collections()

        handle = self.runner.submit(Job("List collections", work, kind="io", reports_failure=True))
        handle.finished.connect(lambda collections: self.loaded.emit(collections))
        handle.failed.connect(lambda message, _tb: self.failed.emit(message))

    def _signal(self) -> None:
        try:
            self._history_opened.emit()
        except RuntimeError:  # the widget that asked is gone
            pass

    def _on_history_opened(self) -> None:
        if self._stop_waiting is not None and self.services.opened_history_store is not None:
            self._stop_waiting()
            self._stop_waiting = None
            self.load()
