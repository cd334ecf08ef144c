"""The Catalog and Hub tabs of the Models workspace.

Both show a fit verdict ("fits on GPU", "runs on CPU (slow)", "won't fit")
with the numbers in the tooltip, and ask the :class:`DownloadsController`
to fetch what the user picks.  A hub search row is judged from the
parameter count the hub reports, or says to choose a file; a repo's file
list judges each GGUF file and, for a diffusers repo, the whole pipeline
(a row that downloads the pipeline's files).  Hub calls run as ``io`` jobs; a search while
offline shows the offline message and nothing else.  The Catalog tab marks
the variants the library already holds, whatever their source, with where
they are; :meth:`CatalogTab.refresh_installed` re-reads the library.

On a CPU the Catalog, like the Hub's GGUF results and files, shows an
expected speed instead of a bare "runs on CPU": tokens per second from GenLab's own records of that model when there
are some, else estimated from the model's size and this machine's memory
bandwidth (:mod:`desktop.core.models.speed`; measured once by an ``io`` job
and cached).  Fast models are green, usable ones amber, slow ones orange.
Recommended first picks carry a "★ Recommended" badge.

Signals (both tabs): status(str): a message for the workspace's status line.
CatalogTab also has speed_measured(object): the (bandwidth, measured speeds)
pair, once known, that :meth:`HubTab.set_speed` takes.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.errors import GenLabError
from desktop.core.hardware import MachineInfo, fmt_bytes, machine_info
from desktop.core.hub.download import FileRef
from desktop.core.hub.queue import catalog_downloads
from desktop.core.hub.search import CHOOSE_A_FILE, repo_choices, search_result_fit
from desktop.core.jobs import Job
from desktop.core.models.catalog import CatalogEntry, load_catalog
from desktop.core.models.fit import FITS_GPU, FITS_OFFLOAD, RUNS_CPU, fit_catalog_variant
from desktop.core.models.library import Library, LibraryModel, installed_variant
from desktop.core.models.speed import SpeedEstimate, estimate_speed, machine_bandwidth, store_speeds
from desktop.ui.models.downloads import DownloadsController
from desktop.ui.widgets import EmptyState, size_columns

VERDICT_COLORS = {FITS_GPU: "#2e7d32", FITS_OFFLOAD: "#558b2f", RUNS_CPU: "#b26a00"}
PACE_COLORS = {"fast": "#2e7d32", "usable": "#8d6e00", "slow": "#b26a00"}
RECOMMENDED_BADGE = "★ Recommended"


def _paint_verdict(item: QTreeWidgetItem, column: int, verdict) -> None:
    item.setText(column, verdict.summary)  # the full arithmetic is in the tooltip
    item.setToolTip(column, verdict.detail)
    item.setForeground(column, QBrush(QColor(VERDICT_COLORS.get(verdict.verdict, "#c62828"))))


def _paint_speed(item: QTreeWidgetItem, column: int, verdict, speed: SpeedEstimate | None) -> None:
    """A CPU verdict as the speed to expect (or "measuring" until the bandwidth is known)."""
    if speed is None:
        item.setText(column, "runs on CPU · measuring speed…")
        item.setToolTip(column, verdict.detail)
        item.setForeground(column, QBrush(QColor(VERDICT_COLORS[RUNS_CPU])))
        return
    item.setText(column, speed.summary)  # the memory it needs is in the tooltip: the cell stays readable
    item.setToolTip(column, f"{speed.detail}\n\nMemory: {verdict.detail}")
    item.setForeground(column, QBrush(QColor(PACE_COLORS[speed.pace])))


def _paint_fit(item: QTreeWidgetItem, column: int, verdict, text_model: bool, speed: SpeedEstimate | None) -> None:
    """A text model that would run on the CPU shows its speed; anything else its fit verdict."""
    if text_model and verdict.verdict == RUNS_CPU:
        _paint_speed(item, column, verdict, speed)
    else:
        _paint_verdict(item, column, verdict)


class CatalogTab(QWidget):
    """The curated catalog: every variant with its fit (or speed) on this machine; see the module docstring.

    ``runner`` measures the memory bandwidth off the GUI thread (without one it
    is measured at once); ``history`` returns the history store, or None, whose
    records give measured speeds.
    """

    status = Signal(str)
    speed_measured = Signal(object)

    def __init__(self, controller: DownloadsController, machine: MachineInfo, context: int = 4096,
                 parent: QWidget | None = None, *, runner=None, history: Callable[[], object] = lambda: None) -> None:
        super().__init__(parent)
        self.controller, self.machine = controller, machine
        self.bandwidth: float | None = None  # bytes/s, once measured
        self.measured_speeds: dict[str, float] = {}
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.filter_edit = QLineEdit(placeholderText="Filter the catalog…")
        self.filter_edit.textChanged.connect(self.populate)
        self.context_spin = QSpinBox(minimum=512, maximum=131072, singleStep=1024, value=context,
                                     suffix=" tokens context")
        self.context_spin.valueChanged.connect(self.populate)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.context_spin)
        layout.addLayout(top)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Model", "Variant", "Size", "Licence", "On this machine", "In library"])
        size_columns(self.tree, stretch=4)
        layout.addWidget(self.tree, 1)
        self.download_button = QPushButton("Download selected variant")
        self.download_button.clicked.connect(self.download_selected)
        self.download_button.setEnabled(False)  # until a variant (a row under a model) is selected
        self.tree.currentItemChanged.connect(self._update_download_button)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.download_button)
        layout.addLayout(bottom)
        try:
            self.entries: list[CatalogEntry] = load_catalog()
        except GenLabError as exc:
            self.entries = []
            self.status.emit(str(exc))
        self.installed: dict[tuple[str, str], LibraryModel] = {}
        self.refresh_installed()
        self._measure_speed(runner, history)

    def _measure_speed(self, runner, history: Callable[[], object]) -> None:
        machine = self.machine

        def measure(*, cancel=None, progress=None):
            store = history()
            try:
                speeds = store_speeds(store) if store is not None else {}
            except Exception:  # the history is evidence, not a requirement
                speeds = {}
            return machine_bandwidth(machine), speeds

        if runner is None:
            self._speed_known(measure())
            return
        handle = runner.submit(Job("Measure memory speed", measure, kind="io"))
        handle.finished.connect(self._speed_known)

    def _speed_known(self, answer) -> None:
        self.bandwidth, self.measured_speeds = answer
        self.populate()
        self.speed_measured.emit(answer)

    def refresh_installed(self) -> None:
        """Re-read which variants the library holds, then redraw."""
        models = Library().models()
        self.installed = {(entry.id, variant.quantization): model for entry in self.entries
                          for variant in entry.variants
                          if (model := installed_variant(entry, variant, models)) is not None}
        self.populate()

    def populate(self) -> None:
        self.tree.clear()
        query = self.filter_edit.text().lower()
        # The first picks lead, so a newcomer sees them without scrolling; the
        # catalog's own order is kept within each group (sorted is stable).
        for entry in sorted(self.entries, key=lambda e: not e.recommended):
            if query and query not in f"{entry.name} {entry.family} {entry.kind}".lower():
                continue
            name = f"{entry.name}   {RECOMMENDED_BADGE}" if entry.recommended else entry.name
            parent = QTreeWidgetItem([name, f"{entry.kind}, {entry.params}", "", entry.license, ""])
            parent.setToolTip(0, entry.description + ("\n\nA good first pick." if entry.recommended else ""))
            if entry.recommended:
                font = parent.font(0)
                font.setBold(True)
                parent.setFont(0, font)
            for variant in entry.variants:
                size = fmt_bytes(variant.size) + ("" if variant.size_exact else " (approx.)")
                child = QTreeWidgetItem(["", variant.quantization, size, "", ""])
                child.setData(0, Qt.ItemDataRole.UserRole, (entry.id, variant.quantization))
                verdict = fit_catalog_variant(entry, variant, self.machine, self.context_spin.value())
                main = variant.main_file
                _paint_fit(child, 4, verdict, entry.kind == "text", estimate_speed(
                    variant.size, bandwidth=self.bandwidth, sha256=main.sha256, file=main.name,
                    measured=self.measured_speeds))
                model = self.installed.get((entry.id, variant.quantization))
                if model is not None:
                    origin = "" if model.source in ("catalog", "hub") else f" ({model.source})"
                    child.setText(5, "installed" + origin)
                    child.setToolTip(5, model.path)
                parent.addChild(child)
            self.tree.addTopLevelItem(parent)
            parent.setExpanded(True)

    def _update_download_button(self) -> None:
        item = self.tree.currentItem()
        self.download_button.setEnabled(bool(item is not None and item.data(0, Qt.ItemDataRole.UserRole)))

    def select(self, entry_id: str, quantization: str) -> None:
        for i in range(self.tree.topLevelItemCount()):
            parent = self.tree.topLevelItem(i)
            for j in range(parent.childCount()):
                if parent.child(j).data(0, Qt.ItemDataRole.UserRole) == (entry_id, quantization):
                    self.tree.setCurrentItem(parent.child(j))

    def download_selected(self) -> None:
        item = self.tree.currentItem()
        data = item.data(0, Qt.ItemDataRole.UserRole) if item else None
        if not data:
            self.status.emit("Choose a variant (a row under a model) to download.")
            return
        entry = next(e for e in self.entries if e.id == data[0])
        variant = entry.variant(data[1])
        for ref, dest, root in catalog_downloads(entry, variant):
            self.controller.request(ref, dest=dest, root=root, source="catalog", catalog_id=entry.id)
        self.status.emit(f"Queued {entry.name} {variant.quantization} ({len(variant.files)} file(s)).")


class HubTab(QWidget):
    """Search the hub, or paste a repo id / URL, then pick files to download.

    The box opens the repo a hub URL or an exact repo id names; other text,
    ``owner/name`` that is no repo included, is searched for
    (:func:`desktop.core.hub.search.open_or_search`).  A GGUF result or
    file that would run on the CPU shows its expected speed, as the Catalog
    does, once :meth:`set_speed` has the bandwidth (until then "measuring").
    """

    status = Signal(str)

    def __init__(self, controller: DownloadsController, machine: MachineInfo, runner, context: int = 4096,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller, self.machine, self.runner, self.context = controller, machine, runner, context
        self.handle = None
        self.bandwidth: float | None = None  # bytes/s, from the Catalog's measurement
        self.measured_speeds: dict[str, float] = {}
        # Rows whose fit column shows a speed, repainted when the bandwidth arrives:
        # (tree, item, verdict, file name, sha256).
        self._speed_rows: list[tuple[QTreeWidget, QTreeWidgetItem, object, str, str]] = []
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.query_edit = QLineEdit(placeholderText="Search GGUF / diffusers models, or paste a repo id or hub URL")
        self.query_edit.returnPressed.connect(self.search)
        self.kind_combo = QComboBox()
        self.kind_combo.addItem("Text (GGUF)", "text")
        self.kind_combo.addItem("Image (diffusers)", "image")
        self.sort_combo = QComboBox()
        self.sort_combo.addItem("Most downloads", "downloads")
        self.sort_combo.addItem("Most likes", "likes")
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.search)
        for widget in (self.query_edit, self.kind_combo, self.sort_combo, self.search_button):
            top.addWidget(widget, 1 if widget is self.query_edit else 0)
        layout.addLayout(top)
        self.message = QLabel()
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        splitter = QSplitter(Qt.Orientation.Vertical)
        self.results = QTreeWidget()
        self.results.setHeaderLabels(["Repo", "Downloads", "Likes", "Kind", "Fit on this machine"])
        size_columns(self.results, stretch=4)
        self.results.setRootIsDecorated(False)
        self.results.itemActivated.connect(lambda item, _c: self.list_files(item.text(0)))
        self.files = QTreeWidget()
        self.files.setHeaderLabels(["File", "Size", "Quantization", "Fit on this machine"])
        size_columns(self.files, stretch=3)
        self.files.setRootIsDecorated(False)
        self.files.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        splitter.addWidget(self.results)
        splitter.addWidget(self.files)
        self.empty = EmptyState("magnifying-glass", "Find a model on the Hugging Face Hub",
                                "Type a name above (for example “qwen3 gguf” or “sdxl”), or paste a repo id or a "
                                "hub URL, then double-click a result to see its files.",
                                "Search the Hugging Face Hub", action_icon="magnifying-glass")
        self.empty.action_requested.connect(self._empty_action)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty)
        self.pages.addWidget(splitter)
        layout.addWidget(self.pages, 1)
        bottom = QHBoxLayout()
        self.download_button = QPushButton("Download selected files")
        self.download_button.clicked.connect(self.download_selected)
        self.token_button = QPushButton("Access token…")
        self.token_button.setToolTip("Gated or private repos need a Hugging Face access token.")
        self.token_button.clicked.connect(lambda: self.set_token(self.ask_token()))
        self.download_button.setEnabled(False)  # until files are selected
        self.files.itemSelectionChanged.connect(
            lambda: self.download_button.setEnabled(bool(self.files.selectedItems())))
        bottom.addStretch(1)
        bottom.addWidget(self.download_button)
        bottom.addWidget(self.token_button)
        layout.addLayout(bottom)
        self.repo_id = ""
        self.message.setText("Search the Hugging Face Hub for text (GGUF) or image (diffusers) models, or paste a "
                             "repo id or hub URL. Double-click a result to list its files, select the ones you "
                             "want, then download them. Searching needs the network; nothing is sent otherwise.")

    def ask_token(self) -> str:
        """Dialog hook (replaceable in tests)."""
        from PySide6.QtWidgets import QInputDialog
        from PySide6.QtWidgets import QLineEdit as _Edit

        value, ok = QInputDialog.getText(self, "Hugging Face access token",
                                         "Paste a read token from huggingface.co/settings/tokens:",
                                         _Edit.EchoMode.Password)
        return value if ok else ""

    def set_token(self, value: str) -> None:
        from desktop.core.hub.access import save_token

        if not value.strip():
            return
        try:
            where = save_token(value)
        except OSError as exc:
            self._show(f"Could not save the token: {exc}")
            return
        self._show("Token saved in the system keyring." if where == "keyring" else
                   f"Token saved in {where} (readable by you only).")

    def search(self) -> None:
        """Open the repo a hub URL or exact repo id names, else search for the text (``open_or_search``)."""
        from desktop.core.hub.search import looks_like_url, open_or_search, parse_repo_ref

        text = self.query_edit.text().strip()
        if looks_like_url(text):
            try:  # a URL of another site is refused at once, without asking the hub
                parse_repo_ref(text)
            except GenLabError as exc:
                self._show(str(exc))
                return
        kind, sort = self.kind_combo.currentData(), self.sort_combo.currentData()
        self._show("Searching…")
        self._submit("Search the hub", lambda *, cancel, progress: open_or_search(text, kind=kind, sort=sort),
                     self._on_lookup)

    def _on_lookup(self, lookup) -> None:
        if lookup.ref is not None:
            self.repo_id, self.revision = lookup.ref.repo_id, lookup.ref.revision
            self.results.clear()
            self._forget_speed_rows(self.results)
            self._on_files(lookup.files)
            for i in range(self.files.topLevelItemCount()):  # a URL to one file: that file, ready to download
                item = self.files.topLevelItem(i)
                item.setSelected(item.data(0, Qt.ItemDataRole.UserRole) == [lookup.ref.filename])
            return
        self._on_results(lookup.search)
        if lookup.note:
            self._show(f"{lookup.note} {lookup.search.message}")

    def _empty_action(self) -> None:
        """The empty pane's button: search for what is typed, else put the cursor in the box."""
        if self.query_edit.text().strip():
            self.search()
        else:
            self.query_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def _update_page(self) -> None:
        listed = self.results.topLevelItemCount() or self.files.topLevelItemCount()
        self.pages.setCurrentIndex(1 if listed else 0)

    def _submit(self, name, fn, on_done) -> None:
        self.handle = self.runner.submit(Job(name, fn, kind="io"))
        self.handle.finished.connect(on_done)
        self.handle.failed.connect(lambda message, _tb: self._show(message))

    def _show(self, text: str) -> None:
        self.message.setText(text)
        self.status.emit(text)

    def set_speed(self, answer: tuple[float, dict[str, float]]) -> None:
        """The memory bandwidth and GenLab's measured speeds (the Catalog's ``speed_measured``)."""
        self.bandwidth, self.measured_speeds = answer
        for tree, item, verdict, file, sha256 in self._speed_rows:
            self._paint_text_fit(tree, item, verdict, file, sha256)

    def _paint_text_fit(self, tree: QTreeWidget, item: QTreeWidgetItem, verdict, file: str, sha256: str = "") -> None:
        column = tree.columnCount() - 1
        _paint_fit(item, column, verdict, True, estimate_speed(
            verdict.weights, bandwidth=self.bandwidth, sha256=sha256, file=file, measured=self.measured_speeds))

    def _forget_speed_rows(self, tree: QTreeWidget) -> None:
        self._speed_rows = [row for row in self._speed_rows if row[0] is not tree]

    def _on_results(self, result) -> None:
        self.results.clear()
        self._forget_speed_rows(self.results)
        self._show(result.message)
        for model in result.models:
            item = QTreeWidgetItem([model.repo_id, _count(model.downloads), _count(model.likes),
                                    model.kind + (" (gated)" if model.gated else ""), CHOOSE_A_FILE])
            verdict = search_result_fit(model, self.machine, self.context)
            if verdict is not None and model.kind == "text":
                self._paint_text_fit(self.results, item, verdict, "")
                self._speed_rows.append((self.results, item, verdict, "", ""))
            elif verdict is not None:
                _paint_verdict(item, 4, verdict)
            item.setToolTip(1, f"{model.downloads:,} downloads")
            item.setToolTip(2, f"{model.likes:,} likes")
            self.results.addTopLevelItem(item)
        self._update_page()

    def list_files(self, repo_id: str, revision: str = "main") -> None:
        from desktop.core.hub.search import list_repo_files

        self.repo_id, self.revision = repo_id, revision
        self._show(f"Listing {repo_id}…")
        self._submit(f"List {repo_id}", lambda *, cancel, progress: list_repo_files(repo_id, revision),
                     self._on_files)

    def _on_files(self, files) -> None:
        self.files.clear()
        self._forget_speed_rows(self.files)
        choices = {c.label: c for c in repo_choices(files, self.machine, self.context)}
        pipeline = next((c for c in choices.values() if len(c.files) > 1), None)
        if pipeline is not None:  # the one choice that is not a single file: first, in bold
            item = QTreeWidgetItem([pipeline.label, fmt_bytes(pipeline.size), pipeline.quantization, ""])
            item.setData(0, Qt.ItemDataRole.UserRole, pipeline.files)
            item.setToolTip(0, "\n".join(pipeline.files))
            font = item.font(0)
            font.setBold(True)
            item.setFont(0, font)
            _paint_verdict(item, 3, pipeline.verdict)
            self.files.addTopLevelItem(item)
        for f in files:
            item = QTreeWidgetItem([f.path, fmt_bytes(f.size), f.quantization, ""])
            item.setData(0, Qt.ItemDataRole.UserRole, [f.path])
            verdict = choices[f.path].verdict if f.path in choices else None
            if verdict is not None and f.path.endswith(".gguf"):
                self._paint_text_fit(self.files, item, verdict, f.path, f.sha256)
                self._speed_rows.append((self.files, item, verdict, f.path, f.sha256))
            elif verdict is not None:
                _paint_verdict(item, 3, verdict)
            self.files.addTopLevelItem(item)
        models = sum(1 for f in files if f.is_model_file)
        self._show(f"{self.repo_id}: {len(files)} file(s), {models} model file(s).")
        self._update_page()

    def download_selected(self) -> None:
        chosen = list(dict.fromkeys(name for i in self.files.selectedItems()
                                    for name in i.data(0, Qt.ItemDataRole.UserRole)))
        if not chosen:
            self._show("Select one or more files to download.")
            return
        for name in chosen:
            self.controller.request(FileRef(self.repo_id, name, getattr(self, "revision", "main")))
        self._show(f"Queued {len(chosen)} file(s) from {self.repo_id}.")


def _count(n: int) -> str:
    """812345 -> "812K", 1234567 -> "1.2M": hub counts at a glance (the exact number is the tooltip)."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n // 1000}K"
    return f"{n:,}"


def current_machine() -> MachineInfo:
    return machine_info()
