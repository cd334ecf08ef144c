"""The token a run is steered with: cancel (from :class:`CancelToken`), pause and resume."""

from __future__ import annotations

import threading

from desktop.core.jobs import CancelToken


class RunToken(CancelToken):
    """A cancel token that can also pause a run between cells.

    ``pause()`` lets the cell being generated finish, then the runner waits
    in :meth:`wait_while_paused` until ``resume()`` or ``cancel()``.  A plain
    :class:`CancelToken` works too; it just cannot pause.
    """

    def __init__(self) -> None:
        super().__init__()
        self._running = threading.Event()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def cancel(self, reason: str = "") -> None:
        super().cancel(reason)
        self._running.set()  # a paused run wakes up to stop

    def wait_while_paused(self, poll: float = 0.5) -> None:
        """Return once resumed or cancelled."""
        while not self._running.wait(poll):
            pass
