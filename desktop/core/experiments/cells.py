"""Running one cell on the real engines: the text engine of ``genlab text``, the image engine of ``genlab image``.

:class:`TextCells` and :class:`ImageCells` load a group's model once and
generate its cells; their records go to the run's
:class:`~desktop.core.experiments.records.CellSink`.  A text cell is
generated with a fresh context and without keeping a stopped reply, so its
output depends on its own values only and a cancelled cell is never saved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol

from desktop.core.experiments.params import image_params, text_settings
from desktop.core.experiments.plan import Cell, ModelGroup
from desktop.core.experiments.records import CellSink
from desktop.core.jobs import CancelToken, ProgressCallback
from desktop.core.records import HistorySink


class CellEngine(Protocol):
    """Loads a group's model and generates its cells (one kind of sweep)."""

    def load(self, group: ModelGroup, *, cancel: CancelToken, progress: ProgressCallback) -> None: ...

    def run(self, cell: Cell, *, cancel: CancelToken, progress: ProgressCallback) -> None: ...

    def close(self) -> None: ...

    experiment_id: str  # the session id the records get


def _model_free(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != "model"}


class TextCells:
    """Text cells on one :class:`~desktop.core.text.engine.TextEngine`.

    ``engine_factory(sink)`` builds the engine (a real ``TextEngine`` whose
    history is ``sink`` by default); ``default_load``: the load options the
    spec leaves unset (the app's settings).
    """

    def __init__(self, sink: CellSink, *, engine_factory: Callable[[HistorySink], Any] | None = None,
                 default_load=None) -> None:
        if engine_factory is None:  # the slot runs local files and remote: references alike
            from desktop.core.text.remote_slot import EngineSlot

            engine_factory = EngineSlot
        self.engine = engine_factory(sink)
        self.default_load = default_load
        self.experiment_id = ""

    def load(self, group: ModelGroup, *, cancel: CancelToken, progress: ProgressCallback) -> None:
        settings = text_settings(_model_free(group.cells[0].values), self.default_load)
        self.engine.load(group.path, settings.load, cancel=cancel, progress=progress)

    def run(self, cell: Cell, *, cancel: CancelToken, progress: ProgressCallback) -> None:
        from desktop.core.text.prompt import TextRequest

        s = text_settings(_model_free(cell.values), self.default_load)
        request = TextRequest(s.prompt, system_prompt=s.system, mode=s.mode, sampling=s.sampling,
                              thread_id=self.experiment_id, keep_partial=False, fresh_context=True)
        self.engine.generate(request, cancel=cancel, progress=progress)

    def close(self) -> None:
        self.engine.close()


class ImageCells:
    """Image cells on one :class:`~desktop.core.image.engine.ImageEngine` (given, or made here)."""

    def __init__(self, sink: CellSink, *, engine=None, image_settings=None) -> None:
        from desktop.core.image.engine import ImageEngine

        self.owned = engine is None
        self.engine = engine if engine is not None else ImageEngine(image_settings)
        self.sink = sink
        self.experiment_id = ""
        self._family: tuple[str, bool] = ("sd1", False)
        self._path = Path()

    def load(self, group: ModelGroup, *, cancel: CancelToken, progress: ProgressCallback) -> None:
        from desktop.core.image.model_files import inspect_model

        info = inspect_model(group.path)
        self._family, self._path = (info.family, info.lcm), group.path
        self.engine.load(group.path, cancel=cancel, progress=progress)

    def run(self, cell: Cell, *, cancel: CancelToken, progress: ProgressCallback) -> None:
        from desktop.core.image.engine import ImageRequest

        params, _ = image_params(_model_free(cell.values), self._family[0], lcm=self._family[1])
        request = ImageRequest(str(self._path), params, session_id=self.experiment_id, previews=False)
        self.engine.generate(request, cancel=cancel, progress=progress, sink=self.sink)

    def close(self) -> None:
        if self.owned:
            self.engine.close()
